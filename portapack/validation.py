"""The request validator every target ships, also used in-process by predict and test.

It is literally the same code: the shared ``Inputs`` template is rendered and executed, so
``portapack predict`` accepts and rejects exactly what the generated artifacts do.
"""

from __future__ import annotations

import sys
import types
from typing import Any

from .errors import PortapackError
from .render import render
from .signature import PredictorInfo
from .targets.artifacts import pydantic_fields

_HEADER = """\
from typing import Any, Literal
from pydantic import BaseModel, ConfigDict, Field, ValidationError
"""


class InvalidInput(PortapackError):
    """A request that breaks the inputs' rules; the message names each bad input."""

    exit_code = 2
    label = "invalid input"


def inputs_validator(pred: PredictorInfo):
    """A function ``raw dict -> validated keyword arguments`` (raises :class:`InvalidInput`)."""
    source = _HEADER + render("_shared/inputs.py.j2", {"fields": pydantic_fields(pred)})
    # A real module, so pydantic resolves the annotations (Literal, Any) in its namespace.
    module = types.ModuleType(f"portapack_inputs_{id(pred)}")
    sys.modules[module.__name__] = module
    exec(compile(source, "<portapack Inputs>", "exec"), module.__dict__)  # noqa: S102
    namespace = module.__dict__
    model, message = namespace["Inputs"], namespace["validation_message"]
    error_type = namespace["ValidationError"]

    def validate(raw: dict[str, Any]) -> dict[str, Any]:
        try:
            return model.model_validate(raw).model_dump()
        except error_type as exc:
            raise InvalidInput(message(exc)) from None

    return validate
