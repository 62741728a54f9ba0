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

from portapack.building.render import render
from portapack.errors import Problem, SpecError
from portapack.importing.source import StripImports, add_imports, parse, platform_bindings
from portapack.targets.cog.importer import files as cog_files
from portapack.targets.cog.importer.rewriter import Runner, RunnerRewriter

FILE_TYPES = {"URLPath", "URLFile"}  # Cog internals (a deferred download), never user API
HANDLED = {"BasePredictor", "BaseRunner", "Input", "Secret", "ConcatenateIterator",
           "AsyncConcatenateIterator", "streaming", "concurrent", "Path", "File"}


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
        raise SpecError(sorted(set(problems), key=lambda p: int(p.where.rpartition(":")[2] or 0)))
    return cls  # type: ignore[return-value]


def rewrite(path: Path, rel: str, class_name: str) -> Runner:
    """Rewrite the runner file at ``path``; raise SpecError naming each line that cannot go."""
    module, tree = parse(path, rel)
    bound = platform_bindings(tree, "cog")
    cls = _precheck(tree, rel, class_name, bound)
    path_name, path_import = cog_files.path_expr(tree, bound)
    rewriter = RunnerRewriter(class_name, bound, rel, cls, path_name)
    new = module.visit(rewriter)
    if rewriter.problems:
        raise SpecError(rewriter.problems)
    paths = cog_files.Replace(bound, {"Path"}, path_name)
    new = new.visit(paths)  # cog.Path subclasses pathlib's: every use of it becomes pathlib.Path
    if paths.count or rewriter.files:
        rewriter.want(*path_import)
    new = new.visit(StripImports("cog"))
    local = {p.stem for p in path.parent.glob("*.py")} | {
        p.name for p in path.parent.iterdir() if (p / "__init__.py").is_file()}
    new = add_imports(new, rewriter.imports, local)
    text = new.code
    helpers = ["drain"] * rewriter.drain + ["file_bytes"] * rewriter.file_bytes
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
    return result


__all__ = ["Runner", "rewrite"]
