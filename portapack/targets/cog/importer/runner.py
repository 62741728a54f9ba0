"""Rewrite a Cog runner class into a plain portapack predictor, keeping everything else.

``setup()`` -> ``load()``; ``run()``/``predict()`` -> ``predict()``; each ``x: T = Input(...)``
-> ``x: Annotated[T, Field(...)] = default`` (``Literal[...]`` for ``choices``); a
``cog.Secret`` input -> a spec secret read from ``os.environ``; ``ConcatenateIterator`` ->
``Iterator``; ``cog.Path``/``cog.File`` -> file inputs and outputs (:mod:`.cog_files`). An
``async`` method stays the user's coroutine, driven by a synchronous ``predict()``
(portapack's predictor contract is synchronous).

This module is the entry: :func:`rewrite` refuses what cannot go before touching anything
(Cog names with no equivalent, a missing class or method), runs the class transformer
(:class:`.cog_rewriter.RunnerRewriter`), then fixes the module around it (``cog.Path`` ->
``pathlib.Path``, Cog's imports out, the new imports in, the helper functions appended) and
checks that no Cog name is left.
"""

from __future__ import annotations

import ast
from pathlib import Path

import libcst as cst

from portapack.building.render import render
from portapack.errors import Problem, SpecError
from portapack.importing.base import Note
from portapack.importing.source import StripImports, add_imports, code, parse, platform_bindings, resolve
from portapack.targets.cog.importer import files as cog_files
from portapack.targets.cog.importer import outputs as cog_outputs
from portapack.targets.cog.importer.rewriter import Runner, RunnerRewriter

FILE_TYPES = {"URLPath", "URLFile"}  # Cog internals (a deferred download), never user API
HANDLED = {"BasePredictor", "BaseRunner", "Input", "Secret", "ConcatenateIterator",
           "AsyncConcatenateIterator", "streaming", "concurrent", "Path", "File",
           "ExperimentalFeatureWarning", "BaseModel", *cog_outputs.SCOPE_NAMES}


def _ast_platform_name(node: ast.AST, bound: dict[str, str]) -> str | None:
    if isinstance(node, ast.Name) and node.id in bound and bound[node.id] != "*":
        return bound[node.id]
    if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and \
            bound.get(node.value.id) == "*":
        return node.attr
    return None


def _precheck(tree: ast.Module, rel: str, class_name: str, bound: dict[str, str]) -> ast.ClassDef:
    problems: list[Problem] = []
    for node in ast.walk(tree):
        name = _ast_platform_name(node, bound)
        if name in FILE_TYPES:
            problems.append(Problem(f"{rel}:{node.lineno}", f"cog.{name} is Cog's internal "
                                    "deferred download; annotate the input or output as cog.Path, "
                                    "then import again"))
        elif name is not None and name not in HANDLED:
            problems.append(Problem(f"{rel}:{node.lineno}", f"cog.{name} has no portapack "
                                    "equivalent; remove it from the runner, then import again"))
    classes = {n.name: n for n in tree.body if isinstance(n, ast.ClassDef)}
    cls = classes.get(class_name)
    if cls is None:
        problems.append(Problem(rel, f"no class '{class_name}' at the top level (cog.yaml names "
                                "it); classes found: " + (", ".join(classes) or "none")))
    else:
        methods = {n.name for n in cls.body if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef)}
        if not methods & {"run", "predict"}:
            problems.append(Problem(f"{rel}:{cls.lineno}", f"class '{class_name}' has no run() or "
                                    "predict() method"))
        if "load" in methods and "setup" in methods:
            problems.append(Problem(f"{rel}:{cls.lineno}", "the class has both setup() and load(); "
                                    "setup() becomes load(): rename your load() first"))
    if problems:
        raise SpecError(sorted(set(problems), key=_line_of))
    return cls  # type: ignore[return-value]


def module_constants(tree: ast.Module, text: str) -> dict[str, tuple[str, object]]:
    """Module-level names bound once to a literal: {name: (source text, value)}. A dict whose
    keys are all literals is kept too (value: its keys), for ``choices=NAME.keys()``."""
    counts: dict[str, int] = {}
    for node in ast.walk(tree):
        for target in (node.targets if isinstance(node, ast.Assign) else
                       [node.target] if isinstance(node, ast.AnnAssign | ast.AugAssign) else []):
            if isinstance(target, ast.Name):
                counts[target.id] = counts.get(target.id, 0) + 1
        if isinstance(node, ast.Global | ast.Nonlocal):
            for name in node.names:
                counts[name] = counts.get(name, 0) + 2
    found: dict[str, tuple[str, object]] = {}
    for node in tree.body:
        if not (isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(
                node.targets[0], ast.Name) and counts.get(node.targets[0].id) == 1):
            continue
        name, value = node.targets[0].id, node.value
        source = ast.get_source_segment(text, value) or ""
        try:
            found[name] = (source, ast.literal_eval(value))
        except ValueError:
            if isinstance(value, ast.Dict) and all(isinstance(k, ast.Constant) for k in value.keys):
                found[name] = ("", {k.value: None for k in value.keys})  # type: ignore[union-attr]
    return found


def _line_of(problem: Problem) -> int:
    tail = problem.where.rpartition(":")[2]
    return int(tail) if tail.isdigit() else 0


def _wrap_function(module: cst.Module, tree: ast.Module, rel: str, name: str,
                   bound: dict[str, str]) -> tuple[cst.Module, str, list[Note]]:
    """A Cog function predictor (``predict: "predict.py:run"``) as a class: the function becomes
    the predict() method of ``class Predictor`` (its body untouched), in the same place. The
    blank line above it takes the class header, so later line numbers stay the same."""
    fns = {n.name: n for n in tree.body if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef)}
    fn_ast = fns[name]
    others = [n.lineno for n in ast.walk(tree) if isinstance(n, ast.Name) and n.id == name]
    if others:
        raise SpecError(Problem(f"{rel}:{others[0]}", f"the function predictor {name}() is also "
                                "used here; it becomes a method, so this use would break"))
    taken = {n.name for n in tree.body if isinstance(n, ast.ClassDef)} | set(bound)
    class_name = next(c for c in ("Predictor", "Runner", "CogPredictor", "PortapackPredictor")
                      if c not in taken)
    body = []
    for stmt in module.body:
        if isinstance(stmt, cst.FunctionDef) and stmt.name.value == name:
            lead = list(stmt.leading_lines)
            keep = lead[:-1] if lead and lead[-1].comment is None else lead
            params = stmt.params.with_changes(params=[cst.Param(cst.Name("self")), *stmt.params.params])
            method = stmt.with_changes(name=cst.Name("predict"), params=params, leading_lines=[])
            body.append(cst.ClassDef(name=cst.Name(class_name), body=cst.IndentedBlock([method]),
                                     leading_lines=keep))
        else:
            body.append(stmt)
    notes = [Note(f"{rel}:{fn_ast.lineno}", f"the function predictor {name}() became "
                  f"{class_name}.predict() (portapack's predictor is a class)")]
    return module.with_changes(body=body), class_name, notes


class _DropCogWarnings(cst.CSTTransformer):
    """``warnings.filterwarnings(..., category=ExperimentalFeatureWarning)``: silences a Cog
    warning that no longer exists once Cog is gone; the statement goes."""

    def __init__(self, bound: dict[str, str]):
        self.bound = bound
        self.dropped = 0

    def leave_SimpleStatementLine(self, original, updated):
        stmt = updated.body[0]
        if len(updated.body) == 1 and isinstance(stmt, cst.Expr) and isinstance(stmt.value, cst.Call) \
                and code(stmt.value.func).endswith("filterwarnings") and any(
                    resolve(a.value, self.bound) == "ExperimentalFeatureWarning" for a in stmt.value.args):
            self.dropped += 1
            return cst.RemovalSentinel.REMOVE
        return updated


def rewrite(path: Path, rel: str, class_name: str) -> Runner:
    """Rewrite the runner file at ``path``; raise SpecError naming each line that cannot go."""
    module, tree = parse(path, rel)
    bound = platform_bindings(tree, "cog")
    early: list[Note] = []
    drop = _DropCogWarnings(bound)
    module = module.visit(drop)
    if drop.dropped:
        early.append(Note(rel, "warnings.filterwarnings(... ExperimentalFeatureWarning) removed: "
                          "that Cog warning does not exist without Cog"))
    top_fns = {n.name for n in tree.body if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef)}
    if class_name in top_fns and class_name not in {n.name for n in tree.body if isinstance(n, ast.ClassDef)}:
        module, class_name, notes = _wrap_function(module, tree, rel, class_name, bound)
        early += notes
    if early:
        tree = ast.parse(module.code)
    cls = _precheck(tree, rel, class_name, bound)
    models, problems = cog_outputs.model_classes(tree, bound, rel)
    if problems:
        raise SpecError(problems)
    early += cog_outputs.model_notes(tree, models, rel) + cog_outputs.scope_notes(tree, bound, rel)
    path_name, path_import = cog_files.path_expr(tree, bound)
    rewriter = RunnerRewriter(class_name, bound, rel, cls, path_name)
    rewriter.constants = module_constants(tree, module.code)
    rewriter.models = models
    new = module.visit(rewriter)
    if rewriter.problems:
        raise SpecError(rewriter.problems)
    if models:
        new = new.visit(cog_outputs.ModelsToDataclasses(models, bound))
        rewriter.want("", "dataclasses")
    for cog_name, plain in (("ConcatenateIterator", "Iterator"),
                            ("AsyncConcatenateIterator", "AsyncIterator")):
        others = cog_files.Replace(bound, {cog_name}, plain)  # outside predict(): a helper's hint
        new = new.visit(others)
        if others.count:
            rewriter.want("collections.abc", plain)
            early.append(Note(rel, f"{cog_name} outside predict()'s signature (a helper's type "
                              f"hint) became {plain}, as in the signature"))
    scope = cog_files.Replace(bound, {"emit_metric"}, "_emit_metric")
    new = new.visit(scope)
    current = cog_files.Replace(bound, {"current_scope"}, "_current_scope")
    new = new.visit(current)
    if scope.count or current.count:
        rewriter.want("", "logging")
    paths = cog_files.Replace(bound, {"Path"}, path_name)
    new = new.visit(paths)  # cog.Path subclasses pathlib's: every use of it becomes pathlib.Path
    if paths.count or rewriter.files:
        rewriter.want(*path_import)
    new = new.visit(StripImports("cog"))
    local = {p.stem for p in path.parent.glob("*.py")} | {
        p.name for p in path.parent.iterdir() if (p / "__init__.py").is_file()}
    new = add_imports(new, rewriter.imports, local)
    text = new.code
    helpers = ["drain"] * rewriter.drain + ["file_bytes"] * rewriter.file_bytes + \
        ["output_dict"] * rewriter.output_dict + ["cog_scope"] * bool(scope.count or current.count)
    for helper in helpers:  # module-level helpers the rewrite calls: templates/importers/
        text = text.rstrip("\n") + "\n\n\n" + render(f"importers/{helper}.py.j2", {})
    # `from cog import Path`: the name stays, now bound to pathlib's Path
    renamed = {path_name} if bound.get(path_name) == "Path" else set()
    left = [n for n in ast.walk(ast.parse(text)) if isinstance(n, ast.Name) and n.id in bound
            and n.id not in renamed]
    if left:  # a cog name used somewhere this rewrite does not handle
        names = sorted({n.id for n in left})
        lines = sorted({n.lineno for n in ast.walk(tree) if isinstance(n, ast.Name) and n.id in names})
        raise SpecError(Problem(f"{rel}:{lines[0] if lines else 1}", f"{', '.join(names)} from cog "
                                "is used outside the runner's signature; remove that use, then "
                                "import again"))
    result = rewriter.result
    result.source = text
    result.class_name = class_name
    result.notes[:0] = early
    return result


__all__ = ["Runner", "rewrite"]
