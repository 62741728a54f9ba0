"""Rewrite a Truss ``class Model`` into a portapack predictor.

``__init__(**kwargs)`` loses the kwargs Truss passes (config, data_dir, secrets): what the
class kept of them is rewritten (``self._secrets["x"]`` -> ``os.environ["X"]``,
``self._data_dir`` -> ``DATA_DIR`` beside the predictor, ``self._config`` -> the config as a
literal). ``predict(model_input)`` stays as ``_truss_predict`` behind a typed ``predict``.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import libcst as cst

from portapack.errors import Problem, SpecError
from portapack.importing.base import Note, env_name
from portapack.importing.source import add_imports, dotted, parse
from portapack.importing.typed import DICT_INPUT, dict_reads, infer, wrapper

KWARGS = {"config", "data_dir", "secrets", "environment", "lazy_data_resolver"}
PREDICTOR = "Predictor"


@dataclass
class TrussModel:
    source: str
    notes: list[Note] = field(default_factory=list)
    secrets: list[str] = field(default_factory=list)
    example: dict[str, Any] | None = None


def _kept(init: ast.FunctionDef) -> tuple[dict[str, str], list[Problem], set[int]]:
    """{attribute: kwarg} for ``self.attr = kwargs["kwarg"]`` (or ``kwargs.get``, or a named
    parameter), the problems, and the lines of those statements."""
    params = {a.arg for a in init.args.args[1:] + init.args.kwonlyargs}
    kwarg = init.args.kwarg.arg if init.args.kwarg else None
    kept: dict[str, str] = {}
    lines: set[int] = set()
    secret_lines: set[int] = set()
    for node in ast.walk(init):  # kwargs["secrets"]["x"] / kwargs["secrets"].get("x"): rewritten
        inner = node.value if isinstance(node, ast.Subscript) else (
            node.func.value if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
            and node.func.attr == "get" else None)
        if isinstance(inner, ast.Subscript) and isinstance(inner.value, ast.Name) and \
                inner.value.id == kwarg and isinstance(inner.slice, ast.Constant) and \
                inner.slice.value == "secrets" and (
                    isinstance(node, ast.Subscript) and isinstance(node.slice, ast.Constant) or
                    isinstance(node, ast.Call) and node.args and isinstance(node.args[0], ast.Constant)):
            secret_lines.add(inner.value.lineno)
    for stmt in init.body:
        if isinstance(stmt, ast.AnnAssign) and stmt.value is not None:
            stmt = ast.Assign(targets=[stmt.target], value=stmt.value, lineno=stmt.lineno)
        if not (isinstance(stmt, ast.Assign) and len(stmt.targets) == 1 and isinstance(
                stmt.targets[0], ast.Attribute) and isinstance(stmt.targets[0].value, ast.Name)):
            continue
        value, key = stmt.value, None
        if isinstance(value, ast.Subscript) and isinstance(value.value, ast.Name) and \
                value.value.id == kwarg and isinstance(value.slice, ast.Constant):
            key = value.slice.value
        elif isinstance(value, ast.Call) and isinstance(value.func, ast.Attribute) and \
                isinstance(value.func.value, ast.Name) and value.func.value.id == kwarg and \
                value.func.attr == "get" and value.args and isinstance(value.args[0], ast.Constant):
            key = value.args[0].value
        elif isinstance(value, ast.Name) and value.id in params:
            key = value.id
        if key is not None:
            kept[stmt.targets[0].attr] = key
            lines.add(stmt.lineno)
    problems = []
    for node in ast.walk(init):
        if isinstance(node, ast.Name) and node.id in params | {kwarg} and not any(
                node.lineno == ln for ln in lines | secret_lines):
            problems.append(Problem(f":{node.lineno}", f"__init__ uses '{node.id}' beyond keeping "
                                    "config, data_dir or secrets; move that code to load()"))
    return kept, problems, lines


def rewrite(path: Path, rel: str, class_name: str, example: Any, config: dict[str, Any],
            data_dir: str, data_root: str | None = None) -> TrussModel:
    module, tree = parse(path, rel)
    classes = {n.name: n for n in tree.body if isinstance(n, ast.ClassDef)}
    cls = classes.get(class_name)
    if cls is None:
        raise SpecError(Problem(rel, f"no class '{class_name}' (classes: {', '.join(classes) or 'none'})"))
    methods = {n.name: n for n in cls.body if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef)}
    predict = methods.get("predict")
    if predict is None or len(predict.args.args) < 2:
        raise SpecError(Problem(f"{rel}:{cls.lineno}", "the Model has no predict(self, model_input)"))
    result = TrussModel("")
    if class_name != PREDICTOR:
        result.notes.append(Note(f"{rel}:{cls.lineno}", f"class {class_name} became {PREDICTOR}"))
    kept, problems, _ = _kept(methods["__init__"]) if "__init__" in methods else ({}, [], set())
    problems = [Problem(f"{rel}{p.where}", p.message) for p in problems]
    for attr, key in kept.items():
        if key not in KWARGS:
            problems.append(Problem(rel, f"self.{attr} keeps Truss's '{key}' argument, which has no "
                                    "portapack equivalent; remove it"))
    streaming = any(isinstance(n, ast.Yield | ast.YieldFrom) for n in _own_nodes(predict))
    returned = None  # predict() returns a generator defined inside it: is that one async?
    nested = {n.name: n for n in ast.walk(predict) if n is not predict and isinstance(
        n, ast.FunctionDef | ast.AsyncFunctionDef) and any(
            isinstance(m, ast.Yield | ast.YieldFrom) for m in _own_nodes(n))}
    if nested and not streaming:
        values = [n.value for n in _own_nodes(predict) if isinstance(n, ast.Return)]
        called = [v.func.id for v in values if isinstance(v, ast.Call) and isinstance(
            v.func, ast.Name) and v.func.id in nested and not v.args and not v.keywords]
        ends = _always_returns(predict.body)  # else it may fall through to None
        if ends and len(called) == len(values) and len({type(nested[c]) for c in called}) == 1:
            streaming = True  # every return hands back that generator: Truss always streams
            returned = isinstance(nested[called[0]], ast.AsyncFunctionDef)
        else:
            first = nested[called[0]] if called else next(iter(nested.values()))
            problems.append(Problem(f"{rel}:{first.lineno}", f"predict() may return the generator "
                                    f"{first.name}() defined inside it, but not from every return "
                                    "(Truss streams a returned generator, so it streams only for "
                                    "some requests): a portapack predictor either always streams "
                                    "or never does; make predict() itself yield, or return the "
                                    "whole result"))
    if streaming and "postprocess" in methods:
        problems.append(Problem(f"{rel}:{methods['postprocess'].lineno}", "a streaming predict() "
                                "with postprocess(): Truss refuses this pair at request time "
                                "(ModelDefinitionError); move postprocess()'s work into predict()"))
    if problems:
        raise SpecError(problems)
    dict_fn = methods.get("preprocess") or predict
    reads = dict_reads(dict_fn, {dict_fn.args.args[1].arg})
    inputs, why = infer(reads, example if isinstance(example, dict) else None)
    where = f"{rel}:{predict.lineno}"
    if inputs is None:
        result.notes.append(Note(where, f"predict() keeps one dict input '{DICT_INPUT}': {why}"))
        result.example = {DICT_INPUT: example} if example is not None else None
    else:
        names = ", ".join(i.name for i in inputs)
        result.notes.append(Note(where, f"predict(model_input) became typed inputs ({names}), read "
                                 "from the keys the code uses and the example input"))
        if isinstance(example, dict):
            result.example = {k: v for k, v in example.items() if k in {i.name for i in inputs}}
            extra = sorted(set(example) - set(result.example))
            if extra:
                result.notes.append(Note("config.yaml model_metadata", f"example keys {', '.join(extra)} "
                                         "are not read by predict(): left out of the example"))
    flow, drain = _flow(methods, streaming, returned)
    if flow:
        result.notes.append(Note(where, "preprocess()/postprocess() and async predict() run in "
                                 "Truss's order inside predict()" + (
                                     ", awaited on an event loop per request (portapack's "
                                     "predictor contract is synchronous)" if "async def" in flow else "")))
    body = wrapper("predict", inputs, "self._truss_flow" if flow else "self._truss_predict",
                   streaming=streaming, returns="Iterator[Any]" if streaming else None, flow=flow)
    rewriter = _Rewriter(class_name, kept, body, rel)
    new = module.visit(rewriter)
    if rewriter.problems:
        raise SpecError(rewriter.problems)
    wanted: list[tuple[str, str]] = []
    if rewriter.uses_env:
        wanted.append(("", "os"))
    if flow and "async def" in flow:
        wanted.append(("", "asyncio"))
    if streaming:
        wanted += [("collections.abc", "Iterator"), ("typing", "Any")]
    constants = []
    if rewriter.uses_data:
        wanted.append(("pathlib", "Path"))
        if data_root:  # external_data is fetched there at image build, as in Truss
            constants.append(f'DATA_DIR = Path("{data_root}")  # Truss\'s data_dir: external_data '
                             "is fetched here at image build")
            result.notes.append(Note(rel, f"self.{_attr(kept, 'data_dir')} became DATA_DIR "
                                     f"({data_root}, where Truss has it and the files are fetched)"))
        else:
            constants.append(f'DATA_DIR = Path(__file__).resolve().parent / "{data_dir}"  '
                             "# Truss's data_dir, copied beside the predictor")
            result.notes.append(Note(rel, f"self.{_attr(kept, 'data_dir')} became DATA_DIR "
                                     f"({data_dir}/ beside the predictor)"))
    if rewriter.uses_config:
        from portapack.targets.truss.importer import config_literal
        constants.append(f"# The Truss config.yaml this model was written for.\nTRUSS_CONFIG = "
                         f"{config_literal(config)}")
        result.notes.append(Note(rel, f"self.{_attr(kept, 'config')} became TRUSS_CONFIG, a copy of "
                                 "config.yaml's values"))
    if rewriter.uses_declared:
        from portapack.targets.truss.importer import config_literal
        constants.append("# config.yaml's secrets (names, defaults): what Truss's secrets mapping "
                         f"held.\nTRUSS_SECRETS = {config_literal(config.get('secrets') or {})}")
        result.notes.append(Note(rel, f"self.{_attr(kept, 'secrets')} tested for truth (or its "
                                 "_base_secrets) became TRUSS_SECRETS, config.yaml's secrets"))
    for name, key in sorted(rewriter.membership.items()):
        result.notes.append(Note(rel, f"'{key}' in self.{_attr(kept, 'secrets')} became "
                                 f"bool(os.environ.get(\"{name}\")): true when the secret is set, as "
                                 "in Truss; where it is not set, Truss raised SecretNotFound and "
                                 "the import's test is false", lost=True))
    if constants:
        new = _before_first_class(new, constants)
    local = {p.stem for p in path.parent.glob("*.py")}
    new = add_imports(new, wanted, local)
    for attr, key in kept.items():
        if key == "secrets":
            result.notes.append(Note(rel, f"self.{attr}[name] became os.environ[NAME]: the secrets "
                                     "are listed under 'secrets:'"))
    if rewriter.uses_environment:
        result.notes.append(Note(rel, f"self.{_attr(kept, 'environment')} (the Baseten environment "
                                 "the model is deployed in) became None, its value outside one",
                                 lost=True))
    if rewriter.waits:
        result.notes.append(Note(rel, f"self.{_attr(kept, 'lazy_data_resolver')}."
                                 "block_until_download_complete() removed: every target has the "
                                 "model_cache weights (weights:) in place before load()"))
    result.secrets = sorted(rewriter.secrets)
    result.source = new.code
    if drain:
        from portapack.building.render import render
        result.source = result.source.rstrip("\n") + "\n\n\n" + render("importers/drain.py.j2", {})
    return result


def _always_returns(body: list[ast.stmt]) -> bool:
    """Whether running ``body`` always ends in a ``return`` (never falls off its end): its last
    statement returns, or is a ``with`` whose body always returns, or an ``if`` whose every
    branch does."""
    last = body[-1] if body else None
    if isinstance(last, ast.Return | ast.Raise):
        return True
    if isinstance(last, ast.With | ast.AsyncWith):
        return _always_returns(last.body)
    if isinstance(last, ast.If):
        return bool(last.orelse) and _always_returns(last.body) and _always_returns(last.orelse)
    return False


def _own_nodes(fn: ast.AST):
    """Nodes of ``fn``'s body, not of the functions, lambdas and classes nested in it."""
    stack = list(ast.iter_child_nodes(fn))
    while stack:
        node = stack.pop()
        yield node
        if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda | ast.ClassDef):
            stack.extend(ast.iter_child_nodes(node))


def _flow(methods: dict[str, ast.AST], streaming: bool, returned: bool | None) -> tuple[str | None, bool]:
    """The source of ``_truss_flow(payload_in)``: Truss's preprocess -> predict -> postprocess,
    each awaited where it is async (truss model_wrapper.py ``ModelWrapper.predict``); None if
    predict() alone is called. ``returned``: predict() returns a generator defined inside it
    (an async one if True). True if an async generator is drained (templates/importers/
    drain.py.j2)."""
    predict = methods["predict"]
    own_gen = streaming and returned is None  # predict() itself yields
    awaited = isinstance(predict, ast.AsyncFunctionDef) and not own_gen
    async_items = streaming and (returned if returned is not None
                                 else isinstance(predict, ast.AsyncFunctionDef))
    others = [n for n in ("preprocess", "postprocess") if n in methods]
    is_async = awaited or async_items or any(isinstance(methods[n], ast.AsyncFunctionDef) for n in others)
    if not others and not is_async:
        return None, False
    if not is_async:
        expr = "payload_in"
        for name in ("preprocess", "predict", "postprocess"):
            if name in methods:
                expr = f"{'self._truss_predict' if name == 'predict' else 'self.' + name}({expr})"
        give = "yield from" if streaming else "return"
        return f"def _truss_flow(self, payload_in):\n    {give} {expr}\n", False
    lines = []
    for name in ("preprocess", "predict", "postprocess"):
        if name not in methods:
            continue
        call = "self._truss_predict" if name == "predict" else f"self.{name}"
        if name == "predict":
            value = f"{'await ' if awaited else ''}{call}(payload_in)"
            if streaming:
                lines.append(f"{'async for' if async_items else 'for'} item in {value}:\n        yield item")
                continue
        else:
            value = f"{'await ' if isinstance(methods[name], ast.AsyncFunctionDef) else ''}{call}(payload_in)"
        lines.append(f"payload_in = {value}")
    body = "\n    ".join(lines)
    run = "yield from _drain" if streaming else "return asyncio.run"
    head = f"def _truss_flow(self, payload_in):\n    {run}(self._truss_flow_async(payload_in))\n"
    if not streaming:
        body += "\n    return payload_in"
    return f"{head}\nasync def _truss_flow_async(self, payload_in):\n    {body}\n", streaming


def _attr(kept: dict[str, str], key: str) -> str:
    return next((a for a, k in kept.items() if k == key), key)


def _before_first_class(module: cst.Module, lines: list[str]) -> cst.Module:
    body = list(module.body)
    at = next((n for n, s in enumerate(body) if isinstance(s, cst.ClassDef)), len(body))
    new = list(cst.parse_module("pass\n" + "\n".join(lines) + "\n").body)[1:]  # comments kept
    new[0] = new[0].with_changes(leading_lines=[cst.EmptyLine(indent=False), *new[0].leading_lines])
    if at < len(body):
        body[at] = body[at].with_changes(leading_lines=[cst.EmptyLine(indent=False)] * 2)
    return module.with_changes(body=body[:at] + new + body[at:])


class _Rewriter(cst.CSTTransformer):
    def __init__(self, class_name: str, kept: dict[str, str], predict_src: str, rel: str):
        self.class_name, self.kept, self.predict_src, self.rel = class_name, kept, predict_src, rel
        self.problems: list[Problem] = []
        self.secrets: set[str] = set()
        self.uses_env = self.uses_data = self.uses_config = self.uses_environment = False
        self.waits = 0  # lazy_data_resolver.block_until_download_complete() lines dropped
        self.uses_declared = False  # TRUSS_SECRETS: config.yaml's secrets, names and defaults
        self.membership: dict[str, str] = {}  # secrets tested with `"x" in self._secrets`
        self.in_init = 0  # __init__'s own `self._x = kwargs[...]` lines are dropped, not rewritten

    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        self.in_init += node.name.value == "__init__"

    def leave_FunctionDef(self, original, updated):
        self.in_init -= original.name.value == "__init__"
        return updated

    in_target = 0

    def visit_AssignTarget(self, node: cst.AssignTarget) -> None:
        self.in_target += 1

    def leave_AssignTarget(self, original, updated):
        self.in_target -= 1
        return updated

    def visit_AnnAssign_target(self, node: cst.AnnAssign) -> None:  # the target only, not the value
        self.in_target += 1

    def leave_AnnAssign_target(self, node: cst.AnnAssign) -> None:
        self.in_target -= 1

    def _kind(self, node: cst.BaseExpression) -> str | None:
        """'secrets' / 'data_dir' / 'config' / 'environment' if ``node`` is ``self.<kept attr>``
        (read anywhere, __init__ included; never the target of __init__'s own kept line)."""
        if isinstance(node, cst.Attribute) and dotted(node.value) == "self" and not (
                self.in_init and self.in_target):
            return self.kept.get(node.attr.value)
        return None

    def _kwargs_secret(self, node: cst.BaseExpression) -> bool:
        """``kwargs["secrets"]`` (the secrets dict read straight from __init__'s kwargs)."""
        return bool(self.in_init) and isinstance(node, cst.Subscript) and \
            isinstance(node.value, cst.Name) and node.value.value == "kwargs" and \
            len(node.slice) == 1 and isinstance(node.slice[0].slice, cst.Index) and \
            isinstance(node.slice[0].slice.value, cst.SimpleString) and \
            node.slice[0].slice.value.evaluated_value == "secrets"

    def leave_Subscript(self, original, updated):
        if (self._kind(updated.value) == "secrets" or self._kwargs_secret(updated.value)) and \
                len(updated.slice) == 1:
            key = updated.slice[0].slice
            if isinstance(key, cst.Index) and isinstance(key.value, cst.SimpleString):
                name = env_name(key.value.evaluated_value)
                self.secrets.add(name)
                self.uses_env = True
                return cst.parse_expression(f'os.environ["{name}"]')
        return updated

    def leave_Call(self, original, updated):
        func = updated.func
        secrets = isinstance(func, cst.Attribute) and (
            self._kind(func.value) == "secrets" or self._kwargs_secret(func.value))
        if secrets and func.attr.value == "get" and updated.args and \
                isinstance(updated.args[0].value, cst.SimpleString):
            name = env_name(updated.args[0].value.evaluated_value)
            self.secrets.add(name)
            self.uses_env = True
            rest = "".join(", " + EMPTY_CODE(a.value) for a in updated.args[1:])
            return cst.parse_expression(f'os.environ.get("{name}"{rest})')
        return updated

    def leave_SimpleStatementLine(self, original, updated):
        """``self._lazy_data_resolver.block_until_download_complete()``: Truss's model_cache
        download finishing before load() goes on; every target has ``weights:`` in place
        before load(), so the line goes."""
        stmt = updated.body[0]
        if len(updated.body) == 1 and isinstance(stmt, cst.Expr) and isinstance(stmt.value, cst.Call) \
                and isinstance(stmt.value.func, cst.Attribute) \
                and stmt.value.func.attr.value == "block_until_download_complete" \
                and self._kind(stmt.value.func.value) == "lazy_data_resolver":
            self.waits += 1
            return cst.RemovalSentinel.REMOVE
        return updated

    def _secrets_dict(self, node: cst.BaseExpression) -> bool:
        return self._kind(node) == "secrets" or self._kwargs_secret(node)

    def _declared(self) -> cst.Name:
        self.uses_declared = True
        return cst.Name("TRUSS_SECRETS")

    def _truth(self, node: cst.BaseExpression) -> cst.BaseExpression:
        """``self._secrets`` tested for truth: Truss's Secrets mapping is as long as config.yaml's
        ``secrets:``, so the declared names (TRUSS_SECRETS) test the same."""
        return self._declared() if self._secrets_dict(node) else node

    def leave_If(self, original, updated):
        return updated.with_changes(test=self._truth(updated.test))

    def leave_While(self, original, updated):
        return updated.with_changes(test=self._truth(updated.test))

    def leave_IfExp(self, original, updated):
        return updated.with_changes(test=self._truth(updated.test))

    def leave_BooleanOperation(self, original, updated):
        return updated.with_changes(left=self._truth(updated.left), right=self._truth(updated.right))

    def leave_UnaryOperation(self, original, updated):
        if isinstance(updated.operator, cst.Not):
            return updated.with_changes(expression=self._truth(updated.expression))
        return updated

    def leave_Comparison(self, original, updated):
        """``"x" in self._secrets`` (Mapping.__contains__ reads the secret): whether the secret
        X has a value."""
        if len(updated.comparisons) != 1 or not isinstance(updated.left, cst.SimpleString):
            return updated
        target = updated.comparisons[0]
        if not (isinstance(target.operator, cst.In | cst.NotIn) and self._secrets_dict(target.comparator)):
            return updated
        name = env_name(updated.left.evaluated_value)
        self.secrets.add(name)
        self.uses_env = True
        self.membership[name] = updated.left.evaluated_value
        test = f'os.environ.get("{name}")'
        return cst.parse_expression(f"not {test}" if isinstance(target.operator, cst.NotIn)
                                    else f"bool({test})")

    def leave_Attribute(self, original, updated):
        if updated.attr.value == "_base_secrets" and self._secrets_dict(updated.value):
            return self._declared()  # Truss's Secrets keeps config.yaml's secrets: there
        kind = self._kind(updated)
        if kind == "data_dir":
            self.uses_data = True
            return cst.Name("DATA_DIR")
        if kind == "config":
            self.uses_config = True
            return cst.Name("TRUSS_CONFIG")
        if kind == "environment":
            self.uses_environment = True
            return cst.Name("None")
        return updated

    def leave_ClassDef(self, original, updated):
        if updated.name.value != self.class_name:
            return updated
        body = []
        for stmt in updated.body.body:
            if isinstance(stmt, cst.FunctionDef) and stmt.name.value == "__init__":
                stmt = self._init(stmt)
                if stmt is None:
                    continue
            if isinstance(stmt, cst.FunctionDef) and stmt.name.value == "predict":
                added = cst.parse_module(self.predict_src).body
                body.append(added[0].with_changes(leading_lines=stmt.leading_lines))
                body += [s.with_changes(leading_lines=[cst.EmptyLine(indent=False)]) for s in added[1:]]
                stmt = stmt.with_changes(name=cst.Name("_truss_predict"),
                                         leading_lines=[cst.EmptyLine(indent=False)])
            body.append(stmt)
        for stmt in body:  # any self.<secrets dict> left is used in a way we cannot rewrite
            text = EMPTY_CODE(stmt)
            for attr, key in self.kept.items():
                if key == "lazy_data_resolver" and re.search(rf"self\.{attr}\b", text):
                    self.problems.append(Problem(self.rel, f"self.{attr} (Truss's lazy_data_resolver) "
                                                 "is used other than to call "
                                                 "block_until_download_complete(); no target has it"))
                if key == "secrets" and f"self.{attr}" in text:
                    self.problems.append(Problem(self.rel, f"self.{attr} (Truss's secrets) is used "
                                                 "other than as self.{attr}['name'] or .get('name')"))
        # "Model" is the class name of Truss's own model.py, which wraps the predictor there.
        return updated.with_changes(name=cst.Name(PREDICTOR), body=updated.body.with_changes(body=body))

    def _init(self, fn: cst.FunctionDef) -> cst.FunctionDef | None:
        body = []
        for stmt in fn.body.body:
            if isinstance(stmt, cst.SimpleStatementLine) and len(stmt.body) == 1 and isinstance(
                    stmt.body[0], cst.AnnAssign):
                target = stmt.body[0].target
                if isinstance(target, cst.Attribute) and dotted(target.value) == "self" and \
                        target.attr.value in self.kept:
                    continue
            if isinstance(stmt, cst.SimpleStatementLine) and len(stmt.body) == 1 and isinstance(
                    stmt.body[0], cst.Assign) and len(stmt.body[0].targets) == 1:
                target = stmt.body[0].targets[0].target
                if isinstance(target, cst.Attribute) and dotted(target.value) == "self" and \
                        target.attr.value in self.kept:
                    continue
            body.append(stmt)
        if not body or all(isinstance(s, cst.SimpleStatementLine) and isinstance(s.body[0], cst.Pass)
                           for s in body):
            return None
        params = fn.params.with_changes(params=[fn.params.params[0].with_changes(
                                            comma=cst.MaybeSentinel.DEFAULT)], kwonly_params=[],
                                        star_kwarg=None,
                                        star_arg=cst.MaybeSentinel.DEFAULT)
        return fn.with_changes(params=params, body=fn.body.with_changes(body=body))


def EMPTY_CODE(node: cst.CSTNode) -> str:  # noqa: N802 (a function that reads as a constant)
    return cst.Module(body=[]).code_for_node(node)
