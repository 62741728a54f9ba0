"""``portapack import runpod``: a RunPod queue worker (``handler(job)`` started with
``runpod.serverless.start``) and its Dockerfile (read by :mod:`.runpod_dockerfile`).

Worker conventions as runpod 1.12.0 and docs.runpod.io/serverless/workers/handler-functions
show them (read 2026-12-01): ``job["input"]`` holds the request, a returned ``{"error": ...}``
fails the job, a generator handler streams, ``test_input.json`` holds ``{"input": {...}}``.
"""

from __future__ import annotations

import ast
import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

import libcst as cst

from portapack.building.render import render
from portapack.errors import Problem, SpecError
from portapack.importing.base import Imported, slug, user_files
from portapack.importing.importer import Importer
from portapack.importing.source import add_imports, parse, platform_bindings
from portapack.importing.typed import DICT_INPUT, dict_reads, infer, wrapper
from portapack.targets.runpod.importer.dockerfile import read_dockerfile

if TYPE_CHECKING:
    from portapack.proof.runtimes.base import Outcome, Runtime


HANDLER_FILES = ("handler.py", "rp_handler.py", "src/handler.py", "src/rp_handler.py")


def _find_start(tree: ast.Module) -> ast.Call | None:
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and \
                node.func.attr == "start" and ast.unparse(node.func).endswith("serverless.start"):
            return node
    return None


def find_handler(src: Path) -> tuple[str, ast.Module, ast.Call]:
    candidates = [c for c in HANDLER_FILES if (src / c).is_file()]
    candidates += sorted(p.relative_to(src).as_posix() for p in src.glob("*.py")
                         if p.relative_to(src).as_posix() not in candidates)
    for rel in candidates:
        try:
            tree = ast.parse((src / rel).read_text(encoding="utf-8"))
        except SyntaxError as exc:
            if rel in HANDLER_FILES:
                raise SpecError(Problem(f"{rel}:{exc.lineno}", f"syntax error: {exc.msg}")) from None
            continue
        start = _find_start(tree)
        if start is not None:
            return rel, tree, start
    raise SpecError(Problem(str(src), "not a RunPod worker: no .py file here calls "
                            "runpod.serverless.start({\"handler\": ...})"))


def import_runpod(src: Path, *, gpu: str | None = None) -> Imported:
    """Convert the RunPod worker in ``src``."""
    rel, tree, start = find_handler(src)
    imported = Imported("runpod", {}, "predict.py", "")
    imported.note(rel, "the worker became predict.py with a Predictor class calling your handler "
                  "(the runpod target generates its own handler.py)")
    options = start.args[0] if start.args and isinstance(start.args[0], ast.Dict) else None
    if options is None:
        raise SpecError(Problem(f"{rel}:{start.lineno}", "runpod.serverless.start() needs a literal "
                                "dict such as {\"handler\": handler}"))
    opts = {k.value: v for k, v in zip(options.keys, options.values, strict=True)
            if isinstance(k, ast.Constant)}
    if not isinstance(opts.get("handler"), ast.Name):
        raise SpecError(Problem(f"{rel}:{start.lineno}", "the handler must be a function named in "
                                "the start() dict"))
    name = opts["handler"].id
    fns = {n.name: n for n in tree.body if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef)}
    fn = fns.get(name)
    if fn is None or not fn.args.args:
        raise SpecError(Problem(rel, f"no top-level function {name}(job)"))
    spec: dict[str, Any] = {"name": slug(src.resolve().name), "predictor": "predict.py:Predictor"}
    concurrency = _concurrency(opts.get("concurrency_modifier"), fns)
    if concurrency:
        spec["scaling"] = {"concurrency": concurrency}
    elif "concurrency_modifier" in opts:
        imported.note(f"{rel}:{start.lineno}", "concurrency_modifier is not a constant: not "
                      "carried (set scaling.concurrency)", lost=True)
    example = _example(src, imported)
    requirements = read_dockerfile(src, spec, imported)
    bound = platform_bindings(tree, "runpod")
    others = [n for n in ast.walk(tree) if isinstance(n, ast.Attribute) and isinstance(n.value, ast.Name)
              and n.value.id in bound and n.lineno != start.lineno]
    if others or any(v != "*" for v in bound.values()):
        line = others[0].lineno if others else 1
        raise SpecError(Problem(f"{rel}:{line}", "the worker uses the runpod SDK beyond "
                                "serverless.start (e.g. rp_upload, progress_update, rp_validator); "
                                "remove that use, then import again"))
    job = fn.args.args[0].arg
    reads = dict_reads(fn, {job}, via=("input",))
    inputs, why = infer(reads, example)
    streaming = any(isinstance(n, ast.Yield | ast.YieldFrom) for n in ast.walk(fn))
    if inputs is None:
        imported.note(f"{rel}:{fn.lineno}", f"predict() keeps one dict input '{DICT_INPUT}': {why}")
        spec_example = {DICT_INPUT: example} if example is not None else None
    else:
        imported.note(f"{rel}:{fn.lineno}", "job[\"input\"] became typed inputs ("
                      + ", ".join(i.name for i in inputs) + "), from the keys the handler reads")
        spec_example = {k: v for k, v in (example or {}).items() if k in {i.name for i in inputs}}
    if any(isinstance(n, ast.Subscript) and isinstance(n.value, ast.Name) and n.value.id == job
           and not (isinstance(n.slice, ast.Constant) and n.slice.value == "input") for n in ast.walk(fn)):
        imported.note(f"{rel}:{fn.lineno}", "the handler reads job fields other than 'input' "
                      "(such as job['id']): only 'input' is passed", lost=True)
    imported.predictor_source = _predictor(src / rel, rel, name, inputs, streaming,
                                           isinstance(fn, ast.AsyncFunctionDef), imported)
    if requirements:
        spec["requirements"] = requirements
    if spec_example is not None:
        spec["examples"] = [{"input": spec_example}]
    imported.spec = spec
    skip = {rel, "Dockerfile", "test_input.json", "requirements.txt"}
    imported.copies = user_files(src, skip)
    return imported


def _predictor(path: Path, rel: str, name: str, inputs, streaming: bool, is_async: bool,
               imported: Imported) -> str:
    module, _ = parse(path, rel)
    module = module.visit(_DropStart())
    call = f"{name}({{\"input\": payload}})"
    if is_async and streaming:
        call = f"_drain({call})"
    elif is_async:
        call = f"asyncio.run({call})"
    method = wrapper("predict", inputs, "self._job", streaming=streaming,
                     returns="Iterator[Any]" if streaming else None)
    if not streaming:
        imported.note(rel, "a returned {\"error\": ...} raises, so every target reports a failure "
                      "as RunPod does")
    cls = render("importers/runpod_predictor.py.j2",
                 {"method": method, "call": call, "streaming": streaming})
    text = module.code.rstrip("\n") + "\n\n\n" + cls
    if is_async and streaming:
        text = text.rstrip("\n") + "\n\n\n" + render("importers/drain.py.j2", {})
    wanted = [("", "asyncio")] if is_async else []
    if streaming:
        wanted += [("collections.abc", "Iterator"), ("typing", "Any")]
    local = {p.stem for p in path.parent.glob("*.py")}
    return add_imports(cst.parse_module(text.lstrip("\n")), wanted, local).code.lstrip("\n")


class _DropStart(cst.CSTTransformer):
    """Remove ``import runpod`` and the ``runpod.serverless.start(...)`` call (and an
    ``if __name__ == "__main__":`` that held only it)."""

    def leave_SimpleStatementLine(self, original, updated):
        stmt = updated.body[0]
        if isinstance(stmt, cst.Import) and all(
                cst.Module([]).code_for_node(a.name).split(".")[0] == "runpod" for a in stmt.names):
            return cst.RemovalSentinel.REMOVE
        if isinstance(stmt, cst.Expr) and "serverless.start" in cst.Module([]).code_for_node(stmt):
            return cst.RemovalSentinel.REMOVE
        return updated

    def leave_If(self, original, updated):
        if isinstance(updated.body, cst.IndentedBlock) and not updated.body.body:
            return cst.RemovalSentinel.REMOVE
        return updated

    def leave_IndentedBlock(self, original, updated):
        return updated


def _concurrency(node: ast.AST | None, fns: dict[str, ast.AST]) -> int | None:
    if isinstance(node, ast.Lambda) and isinstance(node.body, ast.Constant):
        return node.body.value if isinstance(node.body.value, int) else None
    if isinstance(node, ast.Name) and node.id in fns:
        body = fns[node.id].body  # type: ignore[attr-defined]
        returns = [s for s in body if isinstance(s, ast.Return)]
        if len(body) - (isinstance(body[0], ast.Expr)) == 1 and returns and isinstance(
                returns[0].value, ast.Constant) and isinstance(returns[0].value.value, int):
            return returns[0].value.value
    return None


def _example(src: Path, imported: Imported) -> dict[str, Any] | None:
    path = src / "test_input.json"
    if not path.is_file():
        return None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except ValueError as exc:
        raise SpecError(Problem("test_input.json", f"not JSON: {exc}")) from None
    if not isinstance(data, dict) or not isinstance(data.get("input"), dict):
        raise SpecError(Problem("test_input.json", "must be {\"input\": {...}}"))
    return data["input"]


class RunpodImporter(Importer):
    """RunPod workers in; the original runs under RunPod's local API (``--rp_serve_api``)."""

    one_dict_request = True
    requirements_from_spec = True  # the Dockerfile's pip lines

    def convert(self, src: Path, *, gpu: str | None = None) -> Imported:
        return import_runpod(src, gpu=gpu)

    def original_runtime(self, copy: Path, env: dict[str, str]) -> Runtime:
        from portapack.proof.envs import pinned
        from portapack.targets.runpod.runtime import RunpodRuntime

        handler = find_handler(copy)[0]

        class OriginalRunpodRuntime(RunpodRuntime):
            """The source worker under RunPod's local API, started from its own handler file."""

            def runtime_packages(self) -> list[str]:
                # The worker's Dockerfile pip-installs runpod; the import drops it from requirements.
                return [pinned("runpod")]

            def command(self) -> list[str]:
                return [self.python, "-u", handler, "--rp_serve_api", "--rp_api_host", "127.0.0.1",
                        "--rp_api_port", str(self.port)]

        return OriginalRunpodRuntime(copy, env=env)

    def call_original(self, runtime: Runtime, inputs: dict[str, Any], streaming: bool) -> Outcome:
        return runtime.stream(inputs) if streaming else runtime.predict(inputs)
