"""The request validator every target ships, also used in-process by predict and test.

It is literally the same code: the predictor's ``Inputs`` model is the shared template,
rendered and executed (:mod:`portapack.spec.signature.model`), so ``portapack predict`` accepts and
rejects exactly what the generated artifacts do.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from portapack.errors import PortapackError
from portapack.spec.signature import PredictorInfo


class InvalidInput(PortapackError):
    """A request that breaks the inputs' rules; the message names each bad input."""

    exit_code = 2
    label = "invalid input"


def inputs_validator(pred: PredictorInfo) -> Callable[[dict[str, Any]], dict[str, Any]]:
    """A function ``raw dict -> validated keyword arguments`` (raises :class:`InvalidInput`)."""
    inputs = pred.inputs_model

    def validate(raw: dict[str, Any]) -> dict[str, Any]:
        try:
            return inputs.model.model_validate(raw).model_dump()
        except inputs.error as exc:
            raise InvalidInput(inputs.message(exc)) from None

    return validate
