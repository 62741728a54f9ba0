"""The pydantic ``Inputs`` model: the one source of truth for the input rules.

It is built from the very template every artifact ships (``templates/_shared/inputs.py.j2``),
rendered and executed here, so what portapack derives from it (the JSON Schema of
``validate --json``, Cog's OpenAPI inputs, the default checks, ``portapack predict``'s request
validation) is what the generated code enforces, never a second copy of the rules.
"""

from __future__ import annotations

import itertools
import sys
import types
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from portapack.building.render import render
from portapack.spec.signature.annotations import RULE_KEYS
from portapack.spec.signature.contract import InputSpec, PredictorInfo
from portapack.spec.signature.fields import annotation, pydantic_fields

_HEADER = """\
from typing import Any, Literal
from pydantic import BaseModel, ConfigDict, Field, ValidationError
"""
_serial = itertools.count()


@dataclass(frozen=True)
class InputsModel:
    """The executed template: the ``Inputs`` class and its helpers."""

    model: Any  # the pydantic BaseModel subclass named Inputs
    message: Callable[[Exception], str]  # validation_message(exc): one clause per bad input
    error: type[Exception]  # pydantic.ValidationError

    def json_schema(self) -> dict[str, Any]:
        """``Inputs.model_json_schema()``: pydantic's JSON Schema (Draft 2020-12)."""
        return self.model.model_json_schema()

    def default_problems(self, inputs: Iterable[InputSpec]) -> dict[str, str]:
        """Each declared default the model's own field refuses: ``{input name: message}``.

        Defaults are validated strictly (no coercion): a default is source code, and
        ``count: int = "3"`` or ``= True`` is a mistake even though a request may send "3"."""
        specs = {i.name: i for i in inputs if not i.required}
        if not specs:
            return {}
        try:
            self.model.model_validate({n: i.default for n, i in specs.items()}, strict=True)
        except self.error as exc:
            errors = exc.errors(include_url=False)  # type: ignore[attr-defined]
        else:
            return {}
        found: dict[str, list[str]] = {}
        for err in errors:
            name = err["loc"][0]
            if name in specs:  # "missing" errors of required inputs are not about defaults
                found.setdefault(name, []).append(_clause(specs[name], err))
        return {name: "; ".join(clauses) for name, clauses in found.items()}


def build_inputs_model(inputs: Iterable[InputSpec]) -> InputsModel:
    """Render the shared ``Inputs`` template for ``inputs`` and execute it."""
    pred = PredictorInfo("", "", tuple(inputs), False, None)
    source = _HEADER + render("_shared/inputs.py.j2", {"fields": pydantic_fields(pred)})
    # A real module, so pydantic resolves the annotations (Literal, Any) in its namespace.
    module = types.ModuleType(f"portapack_inputs_{next(_serial)}")
    sys.modules[module.__name__] = module
    exec(compile(source, "<portapack Inputs>", "exec"), module.__dict__)  # noqa: S102
    ns = module.__dict__
    return InputsModel(ns["Inputs"], ns["validation_message"], ns["ValidationError"])


def _clause(spec: InputSpec, err: dict[str, Any]) -> str:
    """One refused default, naming the input and the rule it breaks."""
    head = f"input '{spec.name}': default {spec.default!r}"
    where = ".".join(str(p) for p in err["loc"][1:])  # inside a list or dict: 0, 1.[key]
    detail = f"at {where}: {err['msg']}" if where else err["msg"]
    if spec.default is None and not spec.optional:
        return f"{head} needs an optional type, e.g. '{spec.name}: {spec.kind} | None = None'"
    # pydantic names the broken constraint in the error's ctx, with Field(...)'s own keyword.
    rules = [f"{key}={value!r}" for key, value in err.get("ctx", {}).items() if key in RULE_KEYS]
    if rules:
        return f"{head} breaks its own rule {', '.join(rules)} ({detail})"
    return f"{head} does not fit its type {annotation(spec)} ({detail})"

