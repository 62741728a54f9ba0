"""What ``build`` knows of a predictor: its inputs (:class:`InputSpec`) and its output
(:class:`PredictorInfo`), as read from the source by :mod:`.reader`.

These records say what the user wrote; what it *means* (which values an input takes) is the
pydantic ``Inputs`` model built from them (:mod:`.model`), the one source of the input rules.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from portapack.spec.signature.model import InputsModel

REQUIRED = object()  # sentinel: an input with no default


@dataclass(frozen=True)
class InputSpec:
    """One keyword input of ``predict``."""

    name: str
    kind: str  # one of reader.KINDS
    item: str | None = None  # element kind of a list
    optional: bool = False  # accepts None
    choices: tuple[Any, ...] | None = None
    default: Any = REQUIRED
    constraints: dict[str, Any] = field(default_factory=dict)  # Field(...) rules, as written
    description: str | None = None
    accept: str | None = None  # a file input's content-type hint, e.g. "image/*" (documentation)
    line: int = 0

    @property
    def required(self) -> bool:
        return self.default is REQUIRED


@dataclass(frozen=True)
class PredictorInfo:
    """What ``build`` knows of the predictor without importing it."""

    file: str  # relative to the spec dir, e.g. "predict.py"
    class_name: str
    inputs: tuple[InputSpec, ...]
    streaming: bool
    output_kind: str | None  # one of KINDS, or None for "any JSON"
    output_item: str | None = None  # element kind of a list output / stream item kind

    @property
    def file_inputs(self) -> tuple[str, ...]:
        """Names of the inputs that are files (``Path``): fetched before predict() runs."""
        return tuple(i.name for i in self.inputs if i.kind == "path")

    @property
    def module(self) -> str:
        return self.file.removesuffix(".py").replace("/", ".")

    @cached_property
    def inputs_model(self) -> InputsModel:
        """The ``Inputs`` pydantic model every artifact ships (built once, on first use)."""
        from portapack.spec.signature.model import build_inputs_model

        return build_inputs_model(self.inputs)

    def inputs_schema(self) -> dict[str, Any]:
        """The JSON Schema of the request body: the ``Inputs`` model's own
        ``model_json_schema()``, so it states exactly the rules every target enforces."""
        return self.inputs_model.json_schema()
