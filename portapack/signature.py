"""Read a predictor's contract statically, with ``ast``: ``build`` never imports user code.

The predictor is a plain class with ``load(self)`` and ``predict(self, **inputs)``. Inputs
are keyword parameters with type hints; constraints come from
``Annotated[T, Field(ge=, le=, min_length=, max_length=, pattern=, description=)]``, choices
from ``Literal[...]``, optional inputs from ``T | None = None``. A return annotation of
``Iterator[T]`` (or a ``yield`` in the body) means streaming.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .errors import Problem, SpecError

SCALARS = ("str", "int", "float", "bool")
KINDS = (*SCALARS, "list", "dict")
STREAM_WRAPPERS = ("Iterator", "Iterable", "Generator")
FIELD_KEYS = ("ge", "le", "gt", "lt", "min_length", "max_length", "pattern", "description", "default")
NUMERIC_KEYS = ("ge", "le", "gt", "lt")
LENGTH_KEYS = ("min_length", "max_length")
# Attribute names of pydantic's BaseModel and names the shared adapter code uses; each target
# adds the names its own adapter uses (Target.reserved_names).
RESERVED_NAMES = frozenset({
    "self", "json", "dict", "copy", "schema", "schema_json", "construct", "validate",
    "parse_obj", "parse_raw", "parse_file", "from_orm", "update_forward_refs", "fields",
    "input", "job", "request", "body", "predictor",
    # names the generated adapters use in the scope of the inputs
    "os", "sys", "asyncio", "Path", "Any", "Optional", "Iterator", "AsyncIterator",
    "Literal", "Field", "BaseModel", "Input", "Secret", "Inputs", "validation_message",
})
REQUIRED = object()  # sentinel: an input with no default


@dataclass(frozen=True)
class InputSpec:
    """One keyword input of ``predict``."""

    name: str
    kind: str  # one of KINDS
    item: str | None = None  # element kind of a list
    optional: bool = False  # accepts None
    choices: tuple[Any, ...] | None = None
    default: Any = REQUIRED
    constraints: dict[str, Any] = field(default_factory=dict)
    description: str | None = None
    line: int = 0

    @property
    def required(self) -> bool:
        return self.default is REQUIRED

    def json_schema(self) -> dict[str, Any]:
        """The JSON Schema of this one input (the same rules every target enforces)."""
        if self.kind == "list":
            schema: dict[str, Any] = {"type": "array", "items": {"type": _JSON_TYPES[self.item]}}
        else:
            schema = {"type": _JSON_TYPES[self.kind]}
        if self.choices is not None:
            schema["enum"] = list(self.choices)
        mapping = {
            "ge": "minimum",
            "le": "maximum",
            "gt": "exclusiveMinimum",
            "lt": "exclusiveMaximum",
            "pattern": "pattern",
        }
        for key, value in self.constraints.items():
            if key in LENGTH_KEYS:
                prefix = "Items" if self.kind == "list" else "Length"
                schema[key.replace("_length", prefix)] = value
            else:
                schema[mapping[key]] = value
        if self.optional:
            schema = {"anyOf": [schema, {"type": "null"}]}
        schema["title"] = self.name
        if self.description:
            schema["description"] = self.description
        if not self.required:
            schema["default"] = self.default
        return schema


_JSON_TYPES = {
    "str": "string",
    "int": "integer",
    "float": "number",
    "bool": "boolean",
    "dict": "object",
    None: "string",
}


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
    def module(self) -> str:
        return self.file.removesuffix(".py").replace("/", ".")

    def inputs_schema(self) -> dict[str, Any]:
        """One JSON Schema for the whole request body."""
        return {
            "type": "object",
            "title": "Inputs",
            "properties": {i.name: i.json_schema() for i in self.inputs},
            "required": [i.name for i in self.inputs if i.required],
            "additionalProperties": False,
        }


class _Reader:
    def __init__(self, path: Path, rel: str):
        self.path, self.rel = path, rel
        self.problems: list[Problem] = []

    def fail(self, node: ast.AST | None, message: str) -> None:
        line = getattr(node, "lineno", None)
        self.problems.append(Problem(f"{self.rel}:{line}" if line else self.rel, message))

    # -- annotations -------------------------------------------------------------------------
    def annotation(self, node: ast.expr, name: str) -> dict[str, Any] | None:
        """Parse an input annotation into InputSpec keyword arguments."""
        if isinstance(node, ast.Constant) and isinstance(node.value, str):  # "str" forward ref
            try:
                node = ast.parse(node.value, mode="eval").body
            except SyntaxError:
                self.fail(node, f"input '{name}': cannot read the annotation {node.value!r}")
                return None
        head = _name(node.value) if isinstance(node, ast.Subscript) else _name(node)
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.BitOr):
            return self._union(node, [node.left, node.right], name)
        if head in SCALARS or head in ("dict", "Dict") and not isinstance(node, ast.Subscript):
            return {"kind": "dict" if head in ("dict", "Dict") else head}
        if not isinstance(node, ast.Subscript):
            if head in ("list", "List"):
                self.fail(node, f"input '{name}': give the item type, e.g. list[str]")
            else:
                self.fail(node, f"input '{name}': unsupported type '{ast.unparse(node)}'; "
                          "use str, int, float, bool, list[str|int|float|bool] or dict")
            return None
        args = _subscript_args(node)
        if head in ("list", "List"):
            item = _name(args[0]) if len(args) == 1 else None
            if item not in SCALARS:
                self.fail(node, f"input '{name}': list items must be str, int, float or bool, "
                          f"not '{ast.unparse(args[0]) if args else ''}'")
                return None
            return {"kind": "list", "item": item}
        if head in ("dict", "Dict"):
            return {"kind": "dict"}
        if head == "Optional":
            return self._union(node, [args[0], ast.Constant(None)], name)
        if head == "Union":
            return self._union(node, args, name)
        if head == "Literal":
            return self._literal(node, args, name)
        if head == "Annotated":
            return self._annotated(node, args, name)
        self.fail(node, f"input '{name}': unsupported type '{ast.unparse(node)}'")
        return None

    def _union(self, node: ast.expr, parts: list[ast.expr], name: str) -> dict[str, Any] | None:
        flat: list[ast.expr] = []
        for part in parts:  # flatten a | b | None
            if isinstance(part, ast.BinOp) and isinstance(part.op, ast.BitOr):
                flat += [part.left, part.right]
            else:
                flat.append(part)
        rest = [p for p in flat if not (isinstance(p, ast.Constant) and p.value is None)
                and _name(p) != "None"]
        if len(rest) != 1 or len(rest) == len(flat):
            self.fail(node, f"input '{name}': only 'T | None' unions are supported, "
                      f"not '{ast.unparse(node)}'")
            return None
        inner = self.annotation(rest[0], name)
        return None if inner is None else {**inner, "optional": True}

    def _literal(self, node: ast.expr, args: list[ast.expr], name: str) -> dict[str, Any] | None:
        try:
            values = tuple(ast.literal_eval(a) for a in args)
        except ValueError:
            self.fail(node, f"input '{name}': Literal[...] values must be literals")
            return None
        kinds = {type(v).__name__ for v in values}
        if not values or len(kinds) != 1 or next(iter(kinds)) not in SCALARS:
            self.fail(node, f"input '{name}': Literal[...] values must all be str, or all int")
            return None
        return {"kind": next(iter(kinds)), "choices": values}

    def _annotated(self, node: ast.expr, args: list[ast.expr], name: str) -> dict[str, Any] | None:
        inner = self.annotation(args[0], name)
        if inner is None:
            return None
        for meta in args[1:]:
            if not (isinstance(meta, ast.Call) and _name(meta.func) == "Field"):
                self.fail(meta, f"input '{name}': Annotated metadata must be Field(...)")
                return None
            kwargs = self._field_kwargs(meta, name)
            if kwargs is None:
                return None
            inner.update(kwargs)
        return inner

    def _field_kwargs(self, call: ast.Call, name: str) -> dict[str, Any] | None:
        out: dict[str, Any] = {}
        if call.args:
            self.fail(call, f"input '{name}': pass Field options by keyword")
            return None
        for kw in call.keywords:
            if kw.arg not in FIELD_KEYS:
                self.fail(kw.value, f"input '{name}': Field option '{kw.arg}' is not supported; "
                          f"use {', '.join(FIELD_KEYS)}")
                return None
            try:
                out[kw.arg] = ast.literal_eval(kw.value)
            except ValueError:
                self.fail(kw.value, f"input '{name}': Field({kw.arg}=...) must be a literal "
                          "(build reads it without running your code)")
                return None
        return out

    # -- the class ---------------------------------------------------------------------------
    def input_spec(self, arg: ast.arg, default: ast.expr | None) -> InputSpec | None:
        name = arg.arg
        if name.startswith(("_", "model_")) or name in RESERVED_NAMES:
            self.fail(arg, f"input '{name}': this name is reserved by the generated code "
                      "(pydantic or the platforms); rename the parameter")
            return None
        if arg.annotation is None:
            self.fail(arg, f"input '{name}' needs a type hint, e.g. '{name}: str'")
            return None
        info = self.annotation(arg.annotation, name)
        if info is None:
            return None
        field_default = info.pop("default", REQUIRED)
        description = info.pop("description", None)
        constraints = {k: info.pop(k) for k in list(info) if k in FIELD_KEYS[:7]}
        value = field_default
        if default is not None:
            try:
                value = ast.literal_eval(default)
            except ValueError:
                self.fail(default, f"input '{name}': the default must be a literal "
                          "(build reads it without running your code)")
                return None
        spec = InputSpec(name=name, default=value, constraints=constraints,
                         description=description, line=arg.lineno, **info)
        return spec if self._check(arg, spec) else None

    def _check(self, node: ast.AST, spec: InputSpec) -> bool:
        ok = True
        for key in spec.constraints:
            fits = (key in NUMERIC_KEYS and spec.kind in ("int", "float")) or (
                key in LENGTH_KEYS and spec.kind in ("str", "list")) or (
                key == "pattern" and spec.kind == "str")
            if not fits:
                self.fail(node, f"input '{spec.name}': {key}= does not apply to {spec.kind}")
                ok = False
        if not spec.required:
            d = spec.default
            if d is None and not spec.optional:
                self.fail(node, f"input '{spec.name}': default None needs an optional type, "
                          f"e.g. '{spec.name}: {spec.kind} | None = None'")
                ok = False
            elif d is not None and not _fits_kind(d, spec):
                self.fail(node, f"input '{spec.name}': default {d!r} is not of type {spec.kind}")
                ok = False
            elif spec.choices is not None and d is not None and d not in spec.choices:
                self.fail(node, f"input '{spec.name}': default {d!r} is not one of {spec.choices}")
                ok = False
            elif d is not None and ok:
                broken = _broken_constraint(d, spec.constraints)
                if broken:
                    self.fail(node, f"input '{spec.name}': default {d!r} breaks its own rule {broken}")
                    ok = False
        return ok

    def output(self, fn: ast.FunctionDef) -> tuple[bool, str | None, str | None]:
        yields = any(isinstance(n, ast.Yield | ast.YieldFrom) for n in _own_nodes(fn))
        ann = fn.returns
        if ann is None:
            return yields, None, None
        if isinstance(ann, ast.Subscript) and _name(ann.value) in STREAM_WRAPPERS:
            item = _subscript_args(ann)[0]
            return True, _output_kind(item)[0], None
        kind, item = _output_kind(ann)
        return yields, (None if yields else kind), item

    def read(self, class_name: str) -> PredictorInfo | None:
        try:
            tree = ast.parse(self.path.read_text(encoding="utf-8"), filename=self.rel)
        except SyntaxError as exc:
            self.problems.append(Problem(f"{self.rel}:{exc.lineno}", f"syntax error: {exc.msg}"))
            return None
        except (OSError, UnicodeDecodeError) as exc:
            self.problems.append(Problem(self.rel, f"cannot read the predictor file: {exc}"))
            return None
        classes = {n.name: n for n in tree.body if isinstance(n, ast.ClassDef)}
        cls = classes.get(class_name)
        if cls is None:
            found = ", ".join(classes) or "none"
            self.fail(None, f"no class '{class_name}' at the top level (classes found: {found}); "
                      "fix 'predictor:' in the spec")
            return None
        methods = {n.name: n for n in cls.body if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef)}
        for needed in ("load", "predict"):
            if needed not in methods:
                self.fail(cls, f"class '{class_name}' has no {needed}() method; define "
                          f"'def {needed}(self{', **inputs' if needed == 'predict' else ''})' "
                          "in the class body")
        init = methods.get("__init__")
        if init is not None and _required_params(init.args) > 1:
            self.fail(init, f"{class_name}.__init__ must take no arguments besides self")
        if "load" in methods and _required_params(methods["load"].args) > 1:
            self.fail(methods["load"], "load() must take no arguments besides self")
        predict = methods.get("predict")
        if predict is None:
            return None
        if isinstance(predict, ast.AsyncFunctionDef):
            self.fail(predict, "predict() must be a plain 'def' (async predict is not supported)")
            return None
        args = predict.args
        if args.vararg or args.kwarg or args.posonlyargs:
            self.fail(predict, "predict() takes named keyword inputs only "
                      "(no *args, **kwargs or positional-only parameters)")
            return None
        params = args.args[1:]
        defaults: list[ast.expr | None] = [None] * (len(params) - len(args.defaults)) + list(args.defaults)
        pairs = list(zip(params, defaults, strict=True))
        pairs += list(zip(args.kwonlyargs, args.kw_defaults, strict=True))
        inputs = [self.input_spec(a, d) for a, d in pairs]
        streaming, out_kind, out_item = self.output(predict)
        if any(i is None for i in inputs):
            return None
        return PredictorInfo(self.rel, class_name, tuple(inputs), streaming, out_kind, out_item)  # type: ignore[arg-type]


def read_predictor(path: Path, rel: str, class_name: str) -> PredictorInfo:
    """Read ``class_name`` from ``path``; raise :class:`SpecError` with every problem found."""
    reader = _Reader(path, rel)
    if not path.is_file():
        raise SpecError(Problem(rel, "predictor file not found; fix 'predictor:' in the spec"))
    info = reader.read(class_name)
    if reader.problems or info is None:
        raise SpecError(reader.problems)
    return info


def _name(node: ast.expr) -> str | None:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return node.attr
    if isinstance(node, ast.Constant) and node.value is None:
        return "None"
    return None


def _subscript_args(node: ast.Subscript) -> list[ast.expr]:
    return list(node.slice.elts) if isinstance(node.slice, ast.Tuple) else [node.slice]


def _output_kind(node: ast.expr) -> tuple[str | None, str | None]:
    head = _name(node.value) if isinstance(node, ast.Subscript) else _name(node)
    if head in SCALARS:
        return head, None
    if head in ("dict", "Dict"):
        return "dict", None
    if head in ("list", "List"):
        item = _name(_subscript_args(node)[0]) if isinstance(node, ast.Subscript) else None
        return "list", item if item in SCALARS else None
    return None, None


def _own_nodes(fn: ast.FunctionDef):
    """Nodes of ``fn`` without descending into nested functions, lambdas or classes."""
    stack = list(fn.body)
    while stack:
        node = stack.pop()
        yield node
        if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda | ast.ClassDef):
            stack.extend(ast.iter_child_nodes(node))


def _required_params(args: ast.arguments) -> int:
    positional = len(args.posonlyargs) + len(args.args) - len(args.defaults)
    kwonly = sum(1 for d in args.kw_defaults if d is None)
    return positional + kwonly


def _fits_kind(value: Any, spec: InputSpec) -> bool:
    def fits(v: Any, kind: str | None) -> bool:
        if kind == "float":
            return isinstance(v, int | float) and not isinstance(v, bool)
        if kind == "int":
            return isinstance(v, int) and not isinstance(v, bool)
        return type(v).__name__ == kind

    if spec.kind == "list":
        return isinstance(value, list) and all(fits(v, spec.item) for v in value)
    return fits(value, spec.kind)


def _broken_constraint(value: Any, constraints: dict[str, Any]) -> str | None:
    """The first of ``constraints`` that ``value`` breaks, as ``"ge=5"``, or None."""
    checks = {
        "ge": lambda v, c: v >= c, "le": lambda v, c: v <= c,
        "gt": lambda v, c: v > c, "lt": lambda v, c: v < c,
        "min_length": lambda v, c: len(v) >= c, "max_length": lambda v, c: len(v) <= c,
        "pattern": lambda v, c: re.search(c, v) is not None,
    }
    for key, limit in constraints.items():
        try:
            if not checks[key](value, limit):
                return f"{key}={limit!r}"
        except (TypeError, re.error):
            return f"{key}={limit!r}"
    return None
