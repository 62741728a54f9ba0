"""Read a predictor's contract statically, with ``ast``: ``build`` never imports user code.

The predictor is a plain class with ``load(self)`` and ``predict(self, **inputs)``. Inputs
are keyword parameters with type hints (:mod:`.annotations`). A return annotation of
``Iterator[T]`` (or a ``yield`` in the body) means streaming. Declared defaults are checked
by the ``Inputs`` model itself (:mod:`.model`), not by rules written a second time here.
"""

from __future__ import annotations

import ast
import math
from pathlib import Path
from typing import TYPE_CHECKING

from pydantic import BaseModel

from portapack.errors import Problem, SpecError
from portapack.spec.signature.annotations import (
    KIND_OF,
    LIST_NAMES,
    RULE_KEYS,
    RULES_BY_KIND,
    SCALARS,
    AnnotationReader,
    module_aliases,
    subscript_args,
    type_name,
)
from portapack.spec.signature.contract import REQUIRED, InputSpec, PredictorInfo
from portapack.spec.yamlfile import read_utf8

if TYPE_CHECKING:
    from portapack.spec.signature.model import InputsModel

KINDS = (*SCALARS, "list", "dict", "path")
STREAM_WRAPPERS = ("Iterator", "Iterable", "Generator")
# Return types that become a file output on every target (a PIL image is saved as PNG).
FILE_OUTPUTS = ("Path", "bytes", "bytearray", "Image")
# Return types no target can send (not JSON, not a file): refused at validate, not at run time.
NOT_SENDABLE = ("set", "frozenset", "complex", "datetime", "date", "time", "timedelta",
                "Decimal", "UUID", "object")
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


# BaseModel's own model_* attributes (model_dump, model_fields, ...): an input may not shadow
# them; other model_* names are fine (the Inputs model then drops pydantic's protected namespace).
PYDANTIC_NAMES = frozenset(n for n in dir(BaseModel) if n.startswith("model_")) | {"model_"}


class _Reader:
    def __init__(self, path: Path, rel: str):
        self.path, self.rel = path, rel
        self.problems: list[Problem] = []
        self.annotations = AnnotationReader(self.fail)
        self.model: InputsModel | None = None  # built by check_defaults, reused by the contract

    def fail(self, node: ast.AST | None, message: str) -> None:
        line = getattr(node, "lineno", None)
        self.problems.append(Problem(f"{self.rel}:{line}" if line else self.rel, message))

    def input_spec(self, arg: ast.arg, default: ast.expr | None) -> InputSpec | None:
        name = arg.arg
        if name.startswith("_") or name in RESERVED_NAMES or name in PYDANTIC_NAMES:
            self.fail(arg, f"input '{name}': this name is reserved by the generated code "
                      "(pydantic or the platforms); rename the parameter")
            return None
        if arg.annotation is None:
            self.fail(arg, f"input '{name}' needs a type hint, e.g. '{name}: str'")
            return None
        info = self.annotations.read(arg.annotation, name)
        if info is None:
            return None
        value = info.pop("default", REQUIRED)
        description = info.pop("description", None)
        constraints = {k: info.pop(k) for k in list(info) if k in RULE_KEYS}
        if default is not None:
            try:
                value = ast.literal_eval(default)
            except ValueError:
                value = _float_call(default)
                if value is None:
                    self.fail(default, f"input '{name}': the default must be a literal "
                              "(build reads it without running your code)")
                    return None
            if isinstance(value, float) and not math.isfinite(value):  # 1e309, float("nan")
                self.fail(default, f"input '{name}': the default {ast.unparse(default)} is "
                          f"{value}, which JSON cannot carry (no target could send or show it); "
                          "use a finite number, or None with an optional type")
                return None
        if info["kind"] == "path" and value is not REQUIRED and value is not None:
            self.fail(default, f"input '{name}': a file input's default may only be None "
                      f"('{name}: Path | None = None'); clients send a URL or a data: URI")
            return None
        misplaced = [k for k in constraints if k not in RULES_BY_KIND.get(info["kind"], ())]
        for key in misplaced:
            self.fail(arg, f"input '{name}': {key}= does not apply to {info['kind']}")
        if misplaced:
            return None
        return InputSpec(name=name, default=value, constraints=constraints,
                         description=description, line=arg.lineno, **info)

    def check_defaults(self, inputs: list[InputSpec]) -> bool:
        """Validate every declared default through the ``Inputs`` model's own field
        (the model is kept for :class:`PredictorInfo`, so it is built once)."""
        if all(i.required for i in inputs):
            return True  # nothing to check: skip building the model
        from portapack.spec.signature.model import build_inputs_model

        self.model = build_inputs_model(inputs)
        refused = self.model.default_problems(inputs)
        for i in inputs:
            if i.name in refused:
                self.problems.append(Problem(f"{self.rel}:{i.line}", refused[i.name]))
        return not refused

    def output(self, fn: ast.FunctionDef) -> tuple[bool, str | None, str | None]:
        yields = any(isinstance(n, ast.Yield | ast.YieldFrom) for n in _own_nodes(fn))
        ann = fn.returns
        if ann is None:
            return yields, None, None
        refused = sorted({n for n in ast.walk(ann) if isinstance(n, ast.Name | ast.Attribute)
                          and type_name(n) in NOT_SENDABLE}, key=lambda n: n.col_offset)
        if refused:
            self.fail(ann, f"predict() returns '{ast.unparse(ann)}': a {type_name(refused[0])} "
                      "cannot be sent as JSON on any target; return str, int, float, bool, a list "
                      "or dict of them, a Path (a file), bytes, a PIL image or a numpy value")
        if isinstance(ann, ast.Subscript) and type_name(ann.value) in STREAM_WRAPPERS:
            item = subscript_args(ann)[0]
            return True, _output_kind(item)[0], None
        kind, item = _output_kind(ann)
        return yields, (None if yields else kind), item

    def read(self, class_name: str) -> PredictorInfo | None:
        try:
            tree = ast.parse(read_utf8(self.path, self.rel), filename=self.rel)
        except SyntaxError as exc:
            self.problems.append(Problem(f"{self.rel}:{exc.lineno}", f"syntax error: {exc.msg}"))
            return None
        except SpecError as exc:  # not UTF-8: the line and the fix
            self.problems += exc.problems
            return None
        except OSError as exc:
            self.problems.append(Problem(self.rel, f"cannot read the predictor file: {exc}"))
            return None
        self.annotations.aliases = module_aliases(tree)
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
                example = ("def predict(self, text: str, top_k: int = 3) -> dict', each input a "
                           "typed keyword parameter (no *args or **kwargs)" if needed == "predict"
                           else "def load(self)'")
                self.fail(cls, f"class '{class_name}' has no {needed}() method; define '{example} "
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
        specs = [self.input_spec(a, d) for a, d in pairs]
        inputs = [i for i in specs if i is not None]
        defaults_ok = self.check_defaults(inputs)  # those read well, even if others did not
        streaming, out_kind, out_item = self.output(predict)
        if streaming and any(i.kind == "path" for i in inputs):
            self.fail(predict, "a streaming predict() cannot take file (Path) inputs yet; "
                      "return the whole result instead")
        if len(inputs) < len(specs) or not defaults_ok:
            return None
        info = PredictorInfo(self.rel, class_name, tuple(inputs), streaming, out_kind, out_item)
        if self.model is not None:
            info.__dict__["inputs_model"] = self.model  # seeds the cached_property
        return info


def read_predictor(path: Path, rel: str, class_name: str) -> PredictorInfo:
    """Read ``class_name`` from ``path``; raise :class:`SpecError` with every problem found."""
    reader = _Reader(path, rel)
    if not path.is_file():
        raise SpecError(Problem(rel, "predictor file not found; fix 'predictor:' in the spec"))
    info = reader.read(class_name)
    if reader.problems or info is None:
        raise SpecError(reader.problems)
    return info


def _output_kind(node: ast.expr) -> tuple[str | None, str | None]:
    head = type_name(node.value) if isinstance(node, ast.Subscript) else type_name(node)
    if head in LIST_NAMES:
        item = type_name(subscript_args(node)[0]) if isinstance(node, ast.Subscript) else None
        if item in FILE_OUTPUTS:
            return "list", "path"
        return "list", item if item in SCALARS else None
    if head in FILE_OUTPUTS:
        return "path", None
    return KIND_OF.get(head or ""), None


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


def _float_call(node: ast.expr) -> float | None:
    """The value of ``float("nan")``/``float("inf")`` (not literals, but what a user writes
    for them), else None."""
    if (isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "float"
            and len(node.args) == 1 and not node.keywords
            and isinstance(node.args[0], ast.Constant) and isinstance(node.args[0].value, str)):
        try:
            return float(node.args[0].value)
        except ValueError:
            return None
    return None
