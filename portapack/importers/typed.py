"""Typed inputs for platforms whose model takes one dict (Truss's ``model_input``, RunPod's
``job["input"]``): the keys the code reads literally, typed from their defaults and from the
example request. If that cannot be known, the predictor keeps a single ``dict`` input."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from ..signature import RESERVED_NAMES
from .source import MISSING, DictReads, kind_of

DICT_INPUT = "payload"  # the single input when keys cannot be typed


@dataclass(frozen=True)
class Inferred:
    name: str
    kind: str  # "str", "list[int]", "dict", ...
    default: Any = MISSING  # MISSING: required; None: optional

    def parameter(self) -> str:
        if self.default is MISSING:
            return f"{self.name}: {self.kind}"
        if self.default is None:
            return f"{self.name}: {self.kind} | None = None"
        return f"{self.name}: {self.kind} = {json.dumps(self.default)}" if isinstance(
            self.default, str) else f"{self.name}: {self.kind} = {self.default!r}"


def infer(reads: DictReads, example: dict[str, Any] | None) -> tuple[list[Inferred] | None, str]:
    """The typed inputs, or (None, why not)."""
    if reads.opaque:
        lines = ", ".join(str(n) for n in sorted(set(reads.opaque)))
        return None, f"the input dict is used other than by literal keys (line {lines})"
    if not reads.keys:
        return None, "the code reads no literal key from its input"
    example = example or {}
    inputs = []
    for key, default in reads.keys.items():
        if not key.isidentifier() or key in RESERVED_NAMES or key.startswith(("_", "model_")):
            return None, f"key '{key}' cannot be a Python parameter name (or is reserved)"
        kinds = {k for k in (kind_of(default) if default not in (MISSING, None) else None,
                             kind_of(example[key]) if key in example else None) if k}
        if kinds == {"int", "float"}:
            kinds = {"float"}
        if len(kinds) != 1:
            why = "no default or example value" if not kinds else f"conflicting types {sorted(kinds)}"
            return None, f"cannot type key '{key}': {why}"
        kind = next(iter(kinds))
        if kind == "float" and isinstance(default, int) and not isinstance(default, bool):
            default = float(default)
        inputs.append(Inferred(key, kind, default))
    return inputs, ""


def wrapper(method: str, inputs: list[Inferred] | None, call: str, *, streaming: bool,
            returns: str | None) -> str:
    """The source of a typed ``predict`` that rebuilds the dict the original code expects and
    hands it to ``call`` (e.g. ``self._truss_predict``)."""
    ret = f" -> {returns}" if returns else ""
    give = "yield from" if streaming else "return"
    if inputs is None:
        return (f"def {method}(self, {DICT_INPUT}: dict){ret}:\n"
                f"    {give} {call}({DICT_INPUT})\n")
    ordered = [i for i in inputs if i.default is MISSING] + [i for i in inputs if i.default is not MISSING]
    params = ", ".join(i.parameter() for i in ordered)
    required = [i for i in inputs if i.default is not None]
    optional = [i for i in inputs if i.default is None]
    body = "    payload = {" + ", ".join(f'"{i.name}": {i.name}' for i in required) + "}\n"
    for i in optional:  # an absent key stays absent, as the original code would see it
        body += f'    if {i.name} is not None:\n        payload["{i.name}"] = {i.name}\n'
    return f"def {method}(self, {params}){ret}:\n{body}    {give} {call}(payload)\n"
