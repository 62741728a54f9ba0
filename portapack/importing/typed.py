"""Typed inputs for platforms whose model takes one dict (Truss's ``model_input``, RunPod's
``job["input"]``): the keys the code reads literally, typed from their defaults and from the
example request. If that cannot be known, the predictor keeps a single ``dict`` input.

:func:`dict_reads` reads the code with ``ast`` (never running it), :func:`infer` types what
it found, :func:`wrapper` writes the typed ``predict`` that rebuilds the dict."""

from __future__ import annotations

import ast
import json
from dataclasses import dataclass, field
from typing import Any

from portapack.spec.signature import RESERVED_NAMES

DICT_INPUT = "payload"  # the single input when keys cannot be typed
MISSING = object()  # a key read without a default: a required input


# -- what a handler reads from its input dict ---------------------------------------------------
@dataclass
class DictReads:
    """Keys a function reads literally from a dict variable, with defaults where given."""

    keys: dict[str, Any] = field(default_factory=dict)  # key -> default literal, or MISSING
    opaque: list[int] = field(default_factory=list)  # lines where the dict is used otherwise


def dict_reads(fn: ast.FunctionDef | ast.AsyncFunctionDef, roots: set[str],
               via: tuple[str, ...] = ()) -> DictReads:
    """What ``fn`` reads from the dict named ``roots`` (or ``root["input"]`` when ``via`` is
    ("input",)): ``d["k"]`` (required), ``d.get("k", default)`` (optional). Any other use of
    the dict (passed on, iterated, ``**d``) is listed in ``opaque``."""
    reads = DictReads()
    aliases = set(roots) if not via else set()
    parents: dict[ast.AST, ast.AST] = {}
    for node in ast.walk(fn):
        for child in ast.iter_child_nodes(node):
            parents[child] = node

    def is_dict(node: ast.AST) -> bool:
        if isinstance(node, ast.Name) and node.id in aliases:
            return True
        if via and isinstance(node, ast.Subscript) and isinstance(node.value, ast.Name) and \
                node.value.id in roots and _const(node.slice) == via[0]:
            return True
        return False

    # ``job_input = job["input"]`` makes job_input an alias of the dict.
    for node in ast.walk(fn):
        if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(
                node.targets[0], ast.Name) and is_dict(node.value):
            aliases.add(node.targets[0].id)
    for node in ast.walk(fn):
        if not is_dict(node) or (isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store)):
            continue
        parent = parents.get(node)
        if isinstance(parent, ast.Assign) and parent.value is node:
            continue  # the alias assignment itself
        if isinstance(parent, ast.Subscript) and parent.value is node and isinstance(
                _const(parent.slice), str):
            reads.keys.setdefault(_const(parent.slice), MISSING)
            continue
        if isinstance(parent, ast.Attribute) and parent.value is node and parent.attr == "get":
            call = parents.get(parent)
            if isinstance(call, ast.Call) and call.args and isinstance(_const(call.args[0]), str):
                key = _const(call.args[0])
                default = None
                if len(call.args) > 1:
                    try:
                        default = ast.literal_eval(call.args[1])
                    except ValueError:
                        reads.opaque.append(call.lineno)
                        continue
                if reads.keys.get(key, MISSING) is not MISSING or key not in reads.keys:
                    reads.keys[key] = default  # a d["k"] read anywhere keeps it required
                continue
        reads.opaque.append(getattr(node, "lineno", fn.lineno))
    return reads


def _const(node: ast.AST) -> Any:
    return node.value if isinstance(node, ast.Constant) else None


def kind_of(value: Any) -> str | None:
    """The portapack input type for an example value, or None if it has none."""
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int):
        return "int"
    if isinstance(value, float):
        return "float"
    if isinstance(value, str):
        return "str"
    if isinstance(value, dict):
        return "dict"
    if isinstance(value, list) and value:
        kinds = {kind_of(v) for v in value}
        if kinds <= {"int", "float"} and "float" in kinds:
            kinds = {"float"}
        if len(kinds) == 1 and next(iter(kinds)) in ("str", "int", "float", "bool"):
            return f"list[{next(iter(kinds))}]"
    return None


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
            returns: str | None, flow: str | None = None) -> str:
    """The source of a typed ``predict`` that rebuilds the dict the original code expects and
    hands it to ``call`` (e.g. ``self._truss_predict``); ``flow`` is the source of more methods
    written after it (Truss's ``_truss_flow(payload_in)``). Written by
    templates/importers/typed_predict.py.j2."""
    from portapack.building.render import render

    ordered = None if inputs is None else (
        [i for i in inputs if i.default is MISSING] + [i for i in inputs if i.default is not MISSING])
    return render("importers/typed_predict.py.j2", {
        "method": method, "call": call, "flow": flow, "dict_input": DICT_INPUT,
        "ret": f" -> {returns}" if returns else "",
        "give": "yield from" if streaming else "return",
        "params": None if ordered is None else [i.parameter() for i in ordered],
        "required": [i.name for i in inputs or () if i.default is not None],
        "optional": [i.name for i in inputs or () if i.default is None],
    })