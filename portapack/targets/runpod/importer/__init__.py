"""``portapack import runpod``: a RunPod queue worker (``handler(job)`` started with
``runpod.serverless.start``) and its Dockerfile (read by :mod:`.runpod_dockerfile`).

Worker conventions as runpod 1.12.0 and docs.runpod.io/serverless/workers/handler-functions
show them (read 2026-12-01): ``job["input"]`` holds the request, a returned ``{"error": ...}``
fails the job, a generator handler streams, ``test_input.json`` holds ``{"input": {...}}``.
"""

from __future__ import annotations

import ast
import json
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

import libcst as cst

from portapack.building.render import render
from portapack.errors import Problem, SpecError
from portapack.importing.base import Imported, carry_python, predictor_name, slug, user_files
from portapack.importing.generated import built_target, unwrap
from portapack.importing.importer import Importer
from portapack.importing.source import add_imports, parse
from portapack.importing.typed import DICT_INPUT, dict_reads, infer, wrapper
from portapack.targets.runpod.importer.dockerfile import read_dockerfile

if TYPE_CHECKING:
    from portapack.proof.runtimes.base import Outcome, Runtime


HANDLER_FILES = ("handler.py", "rp_handler.py", "src/handler.py", "src/rp_handler.py")
# runpod SDK uses that are ordinary library calls: they work wherever the runpod package is
# installed, so the predictor keeps them and keeps runpod as a requirement.
SDK_LIBRARY = ("runpod.serverless.utils", "runpod.serverless.modules.rp_logger", "runpod.RunPodLogger",
               "runpod.serverless.modules.rp_download", "runpod.serverless.progress_update",
               "runpod.serverless.modules.rp_progress")


def _find_start(tree: ast.Module) -> ast.Call | None:
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and \
                node.func.attr == "start" and ast.unparse(node.func).endswith("serverless.start"):
            return node
    return None


def find_handler(src: Path) -> tuple[str, ast.Module, ast.Call]:
    candidates = [c for c in HANDLER_FILES if (src / c).is_file()]
    candidates += sorted(p.relative_to(src).as_posix() for p in [*src.glob("*.py"), *src.glob("src/*.py")]
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
    built = built_target(src)
    if built is not None:
        return _import_built(src, built, gpu)
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
    enclosing = _enclosing_function(tree, start)
    fns = {n.name: n for n in tree.body if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef)}
    if enclosing is not None:
        _check_main(rel, tree, start, enclosing)
        imported.note(f"{rel}:{start.lineno}", f"runpod.serverless.start() is called at the end of "
                      f"{enclosing}(): {enclosing}() now returns start()'s options instead, and "
                      f"load() runs it (what it does before start(), such as starting a server, "
                      "runs once per worker, as before)")
    name, fn, handler_tree = _handler_function(src, rel, tree, opts.get("handler"), start, enclosing)
    if enclosing is not None:
        name = 'self._worker["handler"]'
    spec: dict[str, Any] = {"name": slug(src.resolve().name), "predictor": "predict.py:Predictor"}
    concurrency = _concurrency(opts.get("concurrency_modifier"), fns)
    if concurrency:
        spec["scaling"] = {"concurrency": concurrency}
    elif "concurrency_modifier" in opts:
        imported.note(f"{rel}:{start.lineno}", "concurrency_modifier is not a constant: not "
                      "carried (set scaling.concurrency)", lost=True)
    if opts.get("return_aggregate_stream") is not None and any(
            isinstance(n, ast.Yield | ast.YieldFrom) for n in ast.walk(fn)):
        imported.note(f"{rel}:{start.lineno}", "return_aggregate_stream: RunPod's /run and /runsync "
                      "returned the streamed items as one list; every target streams them instead "
                      "(the list is what a streamed output collects to)", lost=True)
    reqs = read_dockerfile(src, spec, imported)
    requirements = reqs.requirements
    spec.update(reqs.spec_fields())
    hub_examples = _hub(src, spec, imported, gpu)
    if gpu and "resources" not in spec:
        spec["resources"] = {"gpu": gpu}
    example = _example(src, imported)
    if example is None and hub_examples:
        example = hub_examples[0]
    sdk = _sdk_uses(src, rel, tree, start, imported)
    if sdk:
        requirements = _keep_runpod(src, requirements, imported)
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
                                           isinstance(fn, ast.AsyncFunctionDef), imported,
                                           keep_runpod=bool(sdk), refresh="refresh_worker" in ast.dump(fn),
                                           job_id=any(n.endswith("progress_update") for n in sdk),
                                           main=enclosing)
    if requirements:
        spec["requirements"] = requirements
    carry_python(spec, "Dockerfile FROM", requirements, imported)
    if spec_example is not None:
        spec["examples"] = [{"input": spec_example}]
        for more in [e for e in hub_examples if e != example]:
            if inputs is None:
                spec["examples"].append({"input": {DICT_INPUT: more}})
            elif set(more) <= {i.name for i in inputs}:
                spec["examples"].append({"input": more})
    imported.spec = spec
    skip = {rel, "Dockerfile", "test_input.json", "requirements.txt"}
    folder = rel.rpartition("/")[0]
    for path_rel, path in user_files(src, skip).items():
        if folder and path_rel.startswith(f"{folder}/"):
            # the handler's folder was its working directory and import path: its modules go
            # beside predict.py, as they sat beside the handler
            flat = path_rel[len(folder) + 1:]
            if flat in imported.copies or (src / flat).exists():
                imported.note(path_rel, f"beside predict.py it replaces the project's own {flat}")
            imported.copies[flat] = path
        elif not (folder and path_rel in imported.copies):
            imported.copies[path_rel] = path
    if folder:
        imported.note(folder, f"the handler's folder {folder}/ was flattened beside predict.py "
                      "(its modules import each other as before)")
    package = _package_of(src, rel, tree)
    if package:
        _as_package(imported, package, rel, (src / rel).parent)
    taken = {p.split("/")[-1] for p in imported.copies if "/" not in p}
    if "predict.py" in taken:
        imported.predictor_file = predictor_name("handler.py", taken)
        spec["predictor"] = f"{imported.predictor_file}:Predictor"
        imported.note(rel, f"written as {imported.predictor_file}: the worker has its own predict.py")
    return imported


def _package_of(src: Path, rel: str, tree: ast.Module) -> str | None:
    """The package the start file belongs to, when it imports its siblings relatively
    (``from . import audio``: it runs as ``python -m pkg.handler``); None otherwise."""
    relative = [n for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.level]
    if not relative:
        return None
    folder = (src / rel).parent
    deeper = [n for n in relative if n.level > 1]
    if deeper or not (folder / "__init__.py").is_file():
        node = (deeper or relative)[0]
        raise SpecError(Problem(f"{rel}:{node.lineno}", "a relative import "
                                + ("beyond its own package" if deeper else "outside a package")
                                + ": portapack imports a worker whose start file is a module of "
                                "one package (from . import x); make the import absolute"))
    stem = Path(rel).stem  # the Dockerfile's `python -m pkg.handler` names the package
    docker = (src / "Dockerfile").read_text(encoding="utf-8") if (src / "Dockerfile").is_file() else ""
    started = re.search(rf'-m["\s,]+"?([A-Za-z_]\w*)\.{re.escape(stem)}\b', docker)
    name = started.group(1) if started else folder.resolve().name
    if not name.isidentifier():
        raise SpecError(Problem(f"{rel}:{relative[0].lineno}", f"the start file is a module of the "
                                f"package folder '{name}', which is no Python name"))
    return name


def _as_package(imported: Imported, package: str, rel: str, handler_dir: Path) -> None:
    """The worker is a module of ``package``: its relative imports become ``package.x`` ones
    and its modules (the .py files and subfolders beside it) go into ``package/`` beside
    predict.py; other files beside it (requirements, scripts the build commands use) stay."""
    module = cst.parse_module(imported.predictor_source)
    imported.predictor_source = module.visit(_AbsoluteImports(package)).code
    moved = {}
    for dest, path in imported.copies.items():
        try:
            inside = path.relative_to(handler_dir).as_posix()
        except ValueError:
            inside = None
        if inside is not None and (inside.endswith(".py") or "/" in inside):
            moved[f"{package}/{inside}"] = path
        else:
            moved[dest] = path
    imported.copies = moved
    imported.note(rel, f"the worker is a module of the package {package} (relative imports): its "
                  f"modules and subfolders go into {package}/ beside predict.py and its relative "
                  f"imports import from {package}; other files beside it stay where they were",
                  lost=True)


class _AbsoluteImports(cst.CSTTransformer):
    """``from . import x`` / ``from .m import x`` -> ``from pkg import x`` / ``from pkg.m import x``."""

    def __init__(self, package: str):
        self.package = package

    def leave_ImportFrom(self, original, updated):
        if not updated.relative:
            return updated
        name = self.package + ("." + cst.Module([]).code_for_node(updated.module)
                               if updated.module is not None else "")
        return updated.with_changes(relative=[], module=cst.parse_expression(name))


def _import_built(src: Path, built: str, gpu: str | None) -> Imported:
    """A worker portapack's runpod target built: its predictor as it is; the spec from the
    files the target writes (Dockerfile's BASE_IMAGE and apt line, requirements.txt,
    endpoint.json, the handler's start() options and its --test_input line)."""
    from portapack.targets.runpod.target import RUNPOD_REQUIREMENT

    imported = Imported("runpod", {}, "predict.py", "")
    spec: dict[str, Any] = {"name": slug(src.resolve().name), "predictor": "predict.py:Predictor"}
    docker = (src / "Dockerfile").read_text(encoding="utf-8") if (src / "Dockerfile").is_file() else ""
    base = re.search(r"^ARG BASE_IMAGE=(\S+)", docker, re.MULTILINE)
    version = re.fullmatch(r"python:(3\.\d+)-slim", base.group(1)) if base else None
    if version:
        spec["python"] = version.group(1)
    elif base:
        spec["targets"] = {"runpod": {"base_image": base.group(1)}}
    apt = re.search(r"apt-get install -y --no-install-recommends ([^\\\n]+)", docker)
    if apt:
        spec["system_packages"] = apt.group(1).split()
    reqs = src / "requirements.txt"
    requirements = [ln.strip() for ln in reqs.read_text(encoding="utf-8").splitlines()
                    if ln.strip() and not ln.startswith("#")] if reqs.is_file() else []
    requirements = [r for r in requirements if r != RUNPOD_REQUIREMENT]  # the target's own
    if requirements:
        spec["requirements"] = requirements
    endpoint = {}
    if (src / "endpoint.json").is_file():
        try:
            endpoint = json.loads((src / "endpoint.json").read_text(encoding="utf-8"))
        except ValueError:
            endpoint = {}
    env, secrets = {}, []
    for key, value in (endpoint.get("env") or {}).items():
        if isinstance(value, str) and value.startswith("{{ RUNPOD_SECRET_"):
            secrets.append(key)
        else:
            env[key] = str(value)
    if env:
        spec["env"] = env
    if secrets:
        spec["secrets"] = secrets
    workers = endpoint.get("workers") or {}
    scaling = {k: workers[key] for key, k in (("min", "min_replicas"), ("max", "max_replicas"),
                                               ("idleTimeout", "idle_timeout"))
               if isinstance(workers.get(key), int)}
    if isinstance(endpoint.get("timeout"), int):
        scaling["timeout"] = endpoint["timeout"] // 1000
    handler = src / "handler.py"
    text = handler.read_text(encoding="utf-8") if handler.is_file() else ""
    modifier = re.search(r'"concurrency_modifier": lambda \w+: (\d+)', text)
    if modifier:
        scaling["concurrency"] = int(modifier.group(1))
    if scaling:
        spec["scaling"] = scaling
    if gpu:
        spec["resources"] = {"gpu": gpu}
    elif endpoint.get("gpu"):
        imported.note("endpoint.json gpu", "the endpoint's GPU pools are not read back: pass --gpu",
                      lost=True)
    example = re.search(r"--test_input '(.*)'$", text, re.MULTILINE)
    if example:
        try:
            spec["examples"] = [{"input": json.loads(example.group(1).replace("'\\''", "'"))["input"]}]
        except (ValueError, KeyError, TypeError):
            pass
    imported.spec = spec
    imported.copies = user_files(src, set())
    unwrap(src, built, imported, spec, "handler.py")
    return imported


def _predictor(path: Path, rel: str, name: str, inputs, streaming: bool, is_async: bool,
               imported: Imported, *, keep_runpod: bool = False, refresh: bool = False,
               job_id: bool = False, main: str | None = None) -> str:
    module, _ = parse(path, rel)
    module = module.visit(_DropStart(keep_runpod, main))
    job = "{\"id\": uuid.uuid4().hex, \"input\": payload}" if job_id else "{\"input\": payload}"
    call = f"{name}({job})"
    if is_async and streaming:
        call = f"_drain({call})"
    elif is_async:
        call = f"asyncio.run({call})"
    method = wrapper("predict", inputs, "self._job", streaming=streaming,
                     returns="Iterator[Any]" if streaming else None)
    if not streaming:
        imported.note(rel, "a returned {\"error\": ...} raises, so every target reports a failure "
                      "as RunPod does")
    load = f"self._worker = {main}()  # the worker's start-up; its start() options" if main else None
    cls = render("importers/runpod_predictor.py.j2",
                 {"method": method, "call": call, "streaming": streaming, "refresh": refresh,
                  "load": load})
    if refresh:
        imported.note(rel, "a returned \"refresh_worker\" key is removed from the output as RunPod "
                      "does; the worker is not restarted after the job on any target", lost=True)
    text = module.code.rstrip("\n") + "\n\n\n" + cls
    if is_async and streaming:
        text = text.rstrip("\n") + "\n\n\n" + render("importers/drain.py.j2", {})
    wanted = [("", "asyncio")] if is_async else []
    if job_id:
        wanted.append(("", "uuid"))
    if streaming:
        wanted += [("collections.abc", "Iterator"), ("typing", "Any")]
    local = {p.stem for p in path.parent.glob("*.py")}
    return add_imports(cst.parse_module(text.lstrip("\n")), wanted, local).code.lstrip("\n")


class _DropStart(cst.CSTTransformer):
    """Remove ``import runpod`` (unless the code uses the SDK as a library) and the
    ``runpod.serverless.start(...)`` call (and an ``if __name__ == "__main__":`` that held only it)."""

    def __init__(self, keep_runpod: bool = False, main: str | None = None):
        self.keep_runpod, self.main = keep_runpod, main
        self.depth = 0  # inside main(): start(options) -> return options

    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        self.depth += node.name.value == self.main

    def leave_FunctionDef(self, original, updated):
        if original.name.value == self.main and self.depth == 1 and updated.returns is not None \
                and cst.Module([]).code_for_node(updated.returns.annotation) == "None":
            updated = updated.with_changes(returns=None)  # it returns start()'s options now
        self.depth -= original.name.value == self.main
        return updated

    def leave_SimpleStatementLine(self, original, updated):
        stmt = updated.body[0]
        if not self.keep_runpod and isinstance(stmt, cst.Import) and all(
                cst.Module([]).code_for_node(a.name).split(".")[0] == "runpod" for a in stmt.names):
            return cst.RemovalSentinel.REMOVE
        if isinstance(stmt, cst.Expr) and "serverless.start" in cst.Module([]).code_for_node(stmt):
            if self.depth and isinstance(stmt.value, cst.Call) and stmt.value.args:
                return updated.with_changes(body=[cst.Return(stmt.value.args[0].value)])
            return cst.RemovalSentinel.REMOVE
        return updated

    def leave_If(self, original, updated):
        if isinstance(updated.body, cst.IndentedBlock) and not updated.body.body:
            return cst.RemovalSentinel.REMOVE
        return updated

    def leave_IndentedBlock(self, original, updated):
        return updated


def _enclosing_function(tree: ast.Module, call: ast.Call) -> str | None:
    """The function whose body calls ``call`` (None at module level or under ``if __name__``)."""
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and any(
                n is call for n in ast.walk(node)):
            return node.name
    return None


def _check_main(rel: str, tree: ast.Module, start: ast.Call, name: str) -> None:
    """start() inside ``name()``: carried when ``name`` is a top-level function without
    required parameters whose last statement is the start() call, and the module calls it
    only under ``if __name__ == "__main__":`` (or not at all)."""
    where = f"{rel}:{start.lineno}"
    fn = next((n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == name), None)
    if fn is None or fn.args.args or fn.args.posonlyargs or any(
            d is None for d in fn.args.kw_defaults):
        raise SpecError(Problem(where, f"runpod.serverless.start() is called inside {name}(), "
                                "which is not a top-level function without parameters; call "
                                "start() at the top level of the module or in such a main(), then "
                                "import again"))
    last = fn.body[-1]
    if not (isinstance(last, ast.Expr) and last.value is start):
        raise SpecError(Problem(where, f"runpod.serverless.start() is not the last statement of "
                                f"{name}() (at its top level): what would run after it cannot be "
                                "carried; make start() the last statement, then import again"))
    main_block = [n for n in tree.body if isinstance(n, ast.If) and "__main__" in ast.unparse(n.test)]
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == name \
                and not any(node in set(ast.walk(b)) for b in main_block):
            raise SpecError(Problem(f"{rel}:{node.lineno}", f"{name}() is called here, outside "
                                    "'if __name__ == \"__main__\":', so the worker would start "
                                    "on import; call it only under that test, then import again"))


def _handler_function(src: Path, rel: str, tree: ast.Module, node: ast.AST | None,
                      start: ast.Call, main: str | None = None
                      ) -> tuple[str, ast.FunctionDef | ast.AsyncFunctionDef, ast.Module]:
    """The handler named in start(): a top-level function of this module, or ``mod.func`` of a
    module this one imports (``import mod``) that sits beside it; inside ``main()`` also a
    handler made by a top-level factory (``make_handler(...)`` returning a nested function)."""
    where = f"{rel}:{start.lineno}"
    if main is not None and isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
        factory = next((n for n in tree.body if isinstance(n, ast.FunctionDef)
                        and n.name == node.func.id), None)
        last = factory.body[-1] if factory is not None else None
        inner = {n.name: n for n in (factory.body if factory is not None else [])
                 if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef)}
        if isinstance(last, ast.Return) and isinstance(last.value, ast.Name) and \
                last.value.id in inner and inner[last.value.id].args.args:
            return node.func.id, inner[last.value.id], tree
    if isinstance(node, ast.Name):
        fns = {n.name: n for n in tree.body if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef)}
        fn = fns.get(node.id)
        if fn is None or not fn.args.args:
            raise SpecError(Problem(rel, f"no top-level function {node.id}(job)"))
        return node.id, fn, tree
    if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name):
        alias = node.value.id
        scope = ast.walk(tree) if main is not None else tree.body  # main() may import it
        module = next((a.name for n in scope if isinstance(n, ast.Import) for a in n.names
                       if (a.asname or a.name) == alias and "." not in a.name), None)
        other = (src / rel).parent / f"{module}.py" if module else None
        if other is None or not other.is_file():
            raise SpecError(Problem(where, f"the handler {alias}.{node.attr} comes from a module "
                                    "that is not imported at the top level beside this file"))
        other_rel = other.relative_to(src).as_posix()
        other_tree = parse(other, other_rel)[1]
        fns = {n.name: n for n in other_tree.body if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef)}
        fn = fns.get(node.attr)
        if fn is None or not fn.args.args:
            raise SpecError(Problem(other_rel, f"no top-level function {node.attr}(job)"))
        return f"{alias}.{node.attr}", fn, other_tree
    what = ast.unparse(node) if node is not None else "nothing"
    raise SpecError(Problem(where, f"the handler is {what}: portapack imports a handler named as "
                            "a function (handler or module.handler); a handler built at start-up "
                            "by a call is not read without running it"))


def _sdk_uses(src: Path, rel: str, tree: ast.Module, start: ast.Call, imported: Imported) -> set[str]:
    """The runpod SDK names the worker uses beyond serverless.start (in any of its modules).
    Library calls are kept (noted); anything else is refused by name and line."""
    found: set[str] = set()
    problems: list[Problem] = []
    for path in _worker_modules(src, rel):
        prel = path.relative_to(src).as_posix()
        try:
            ptree = tree if prel == rel else ast.parse(path.read_text(encoding="utf-8"))
        except (SyntaxError, UnicodeDecodeError):
            continue
        aliases: dict[str, str] = {}
        for node in ast.walk(ptree):
            if isinstance(node, ast.Import):
                for a in node.names:
                    if a.name.split(".")[0] == "runpod":
                        aliases[a.asname or "runpod"] = a.name if a.asname else "runpod"
            elif isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] == "runpod":
                for a in node.names:
                    dotted = f"{node.module}.{a.name}"
                    aliases[a.asname or a.name] = dotted
                    _check_sdk(dotted, f"{prel}:{node.lineno}", found, problems)
        inner = {id(n.value) for n in ast.walk(ptree) if isinstance(n, ast.Attribute)}
        for node in ast.walk(ptree):
            if not isinstance(node, ast.Attribute) or id(node) in inner:
                continue
            text = _dotted(node)
            if not text or aliases.get(text.split(".")[0]) != "runpod":
                continue
            if prel == rel and node.lineno == start.lineno:
                continue
            _check_sdk(text, f"{prel}:{node.lineno}", found, problems)
    if problems:
        raise SpecError(sorted(set(problems), key=lambda p: p.where))
    for name in sorted(found):
        imported.note("runpod SDK", f"{name} is kept as a library call (runpod stays a requirement)"
                      + ("; progress updates go to RunPod's job API only on RunPod: elsewhere "
                         "they are sent nowhere" if name.endswith("progress_update") else ""),
                      lost=name.endswith("progress_update"))
    return found


def _worker_modules(src: Path, rel: str) -> list[Path]:
    """The start file and the project modules it imports, transitively (a client script or a
    test beside the worker is not part of it)."""
    folder = (src / rel).parent
    todo, seen = [src / rel], set()
    while todo:
        path = todo.pop()
        if path in seen or not path.is_file():
            continue
        seen.add(path)
        try:
            tree = ast.parse(path.read_text(encoding="utf-8"))
        except (SyntaxError, UnicodeDecodeError):
            continue
        for node in ast.walk(tree):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else (
                [node.module] if isinstance(node, ast.ImportFrom) and node.module and not node.level
                else [])
            for name in names:
                head = name.split(".")[0]
                for base in (folder, src):
                    todo += [base / f"{head}.py", base / head / "__init__.py"]
    return sorted(seen)


def _dotted(node: ast.AST) -> str | None:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        head = _dotted(node.value)
        return f"{head}.{node.attr}" if head else None
    return None


def _check_sdk(dotted: str, where: str, found: set[str], problems: list[Problem]) -> None:
    if dotted in ("runpod.serverless.start", "runpod.serverless", "runpod"):
        return
    if any(dotted == lib or dotted.startswith(lib + ".") for lib in SDK_LIBRARY):
        found.add(dotted)
        return
    if any(lib.startswith(dotted + ".") for lib in SDK_LIBRARY):
        return  # a package on the way to a library module (from runpod.serverless import utils)
    problems.append(Problem(where, f"{dotted} is RunPod's worker machinery, not a library call "
                            "(no target has it); remove that use, then import again"))


def _keep_runpod(src: Path, requirements: list[str], imported: Imported) -> list[str]:
    """runpod as a requirement of the predictor: the worker's own pin if it has one and it
    allows what the runpod target's handler needs, else that (noted)."""
    from portapack.targets.runpod.target import RUNPOD_REQUIREMENT

    pin = worker_runpod_pin(src) or "runpod"
    if _fits_target(pin):
        imported.note("requirements", f"{pin} kept: the worker calls the runpod SDK as a library")
    else:
        imported.note("requirements", f"{pin} (the worker's pin) became runpod, unpinned: the "
                      f"runpod target's generated handler needs {RUNPOD_REQUIREMENT} (it uses that "
                      "range for a bare runpod), while other targets may need an older one (Truss's "
                      "server pins a fastapi runpod 1.12 cannot use); the worker's SDK calls run "
                      "on whichever each target installs", lost=True)
        pin = "runpod"
    return [r for r in requirements if not r.lower().startswith("runpod")] + [pin]


def _fits_target(pin: str) -> bool:
    """Whether the worker's runpod requirement allows a release the runpod target can run
    (1.12 or later, before 2); one that cannot be read is taken as not fitting."""
    from packaging.requirements import InvalidRequirement, Requirement

    try:
        req = Requirement(pin)
    except InvalidRequirement:
        return False
    if req.url:
        return False
    probes = [f"1.{minor}.{patch}" for minor in range(12, 30) for patch in range(0, 20)]
    return any(req.specifier.contains(v, prereleases=False) for v in probes)


# RunPod Hub pool ids -> portapack GPU names (exact pools only; AMPERE_16 is nearest).
def _pool_gpu(pool: str) -> tuple[str | None, bool]:
    from portapack.targets.runpod.target import RunpodTarget

    exact = {m.name: name for name, m in RunpodTarget.gpu_names.items() if m.exact}
    if pool in exact:
        return exact[pool], True
    near = {m.name: name for name, m in RunpodTarget.gpu_names.items()}
    return near.get(pool), False


def _hub(src: Path, spec: dict[str, Any], imported: Imported, gpu: str | None) -> list[dict[str, Any]]:
    """.runpod/hub.json (GPU, env presets) into the spec; .runpod/tests.json's inputs returned
    as examples."""
    examples: list[dict[str, Any]] = []
    hub_path = src / ".runpod" / "hub.json"
    if hub_path.is_file():
        try:
            hub = json.loads(hub_path.read_text(encoding="utf-8"))
        except ValueError as exc:
            raise SpecError(Problem(".runpod/hub.json", f"not JSON: {exc}")) from None
        config = hub.get("config") or {} if isinstance(hub, dict) else {}
        pools = [p.strip() for p in str(config.get("gpuIds") or "").split(",") if p.strip()]
        if gpu:
            spec.setdefault("resources", {})["gpu"] = gpu
        elif config.get("runsOn", "GPU") == "GPU" and pools:
            name, exact = _pool_gpu(pools[0])
            if name is None:
                imported.note(".runpod/hub.json config.gpuIds", f"{pools[0]} is no pool portapack "
                              "knows: pass --gpu", lost=True)
            else:
                count = int(config.get("gpuCount") or 1)
                spec.setdefault("resources", {})["gpu"] = f"{name}:{count}" if count > 1 else name
                imported.note(".runpod/hub.json config.gpuIds", f"{pools[0]} became gpu {name}"
                              + ("" if exact else " (the nearest GPU with as much memory)")
                              + (f"; the other pools ({', '.join(pools[1:])}) are not carried: a spec "
                                 "names one GPU" if pools[1:] else ""), lost=not exact or bool(pools[1:]))
        for key in ("containerDiskInGb", "allowedCudaVersions", "presets"):
            if config.get(key):
                imported.note(f".runpod/hub.json config.{key}", "not carried (portapack has no "
                              "equivalent)", lost=key == "presets")
        env = spec.setdefault("env", {})
        for n, entry in enumerate(config.get("env") or []):
            key = entry.get("key") if isinstance(entry, dict) else None
            field = (entry.get("input") or {}) if isinstance(entry, dict) else {}
            if not key:
                continue
            default = field.get("default", entry.get("value"))
            if default is None:
                imported.note(f".runpod/hub.json config.env[{n}]", f"{key} has no default (the Hub "
                              "asks for it when deploying): set it under env or secrets",
                              lost=bool(field.get("required")))
                continue
            value = ("true" if default else "false") if isinstance(default, bool) else str(default)
            if key in env and env[key] != value:
                imported.note(f".runpod/hub.json config.env[{n}]", f"{key}: the Hub's default "
                              f"{value!r} replaces the Dockerfile's {env[key]!r}, as on a Hub endpoint")
            env[key] = value
        if not env:
            spec.pop("env")
    tests_path = src / ".runpod" / "tests.json"
    if tests_path.is_file():
        try:
            tests = json.loads(tests_path.read_text(encoding="utf-8"))
        except ValueError as exc:
            raise SpecError(Problem(".runpod/tests.json", f"not JSON: {exc}")) from None
        for test in (tests.get("tests") or []) if isinstance(tests, dict) else []:
            if isinstance(test, dict) and isinstance(test.get("input"), dict):
                examples.append(test["input"])
        if examples:
            imported.note(".runpod/tests.json", f"{len(examples)} test input(s) became examples "
                          "(their timeouts and hardware are not carried)")
    return examples


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


_RUNPOD_REQ = re.compile(r"runpod(\[[^\]]*\])?\s*([=~<>!]=?[^\s#;]*(\s*,\s*[=~<>!]=?[^\s#;,]*)*)?\s*(#.*)?$",
                         re.IGNORECASE)


def worker_runpod_pin(src: Path) -> str | None:
    """The runpod requirement the worker's own image installs: a ``runpod...`` word of a
    Dockerfile ``pip install``, else a ``runpod...`` line of its requirements files (the
    top-level requirements.txt last: verify writes one from the spec when there is none)."""
    dockerfile = src / "Dockerfile"
    if dockerfile.is_file():
        text = dockerfile.read_text(encoding="utf-8").replace("\\\n", " ")
        for line in text.splitlines():
            if "pip" not in line or "install" not in line:
                continue
            for word in line.split():
                word = word.strip("'\"")
                if _RUNPOD_REQ.match(word):
                    return word
    for name in ("builder/requirements.txt", "src/requirements.txt", "requirements.txt"):
        path = src / name
        if path.is_file():
            for line in path.read_text(encoding="utf-8").splitlines():
                if _RUNPOD_REQ.match(line.strip()):
                    return line.split("#")[0].strip().replace(" ", "")
    return None


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
        own = worker_runpod_pin(copy)
        reqs = copy / "requirements.txt"
        if own and reqs.is_file():  # the runpod the worker's image has, not the import's range
            lines = reqs.read_text(encoding="utf-8").splitlines()
            kept = [ln for ln in lines if not _RUNPOD_REQ.match(ln.strip())]
            if kept != lines:
                reqs.write_text("".join(f"{ln}\n" for ln in kept), encoding="utf-8")

        class OriginalRunpodRuntime(RunpodRuntime):
            """The source worker under RunPod's local API, started from its own handler file."""

            def runtime_packages(self) -> list[str]:
                # The worker's image pip-installs its own runpod (the import drops or widens it);
                # without a pin of its own, the runpod portapack was tested with.
                return [own or pinned("runpod")]

            def command(self) -> list[str]:
                return [self.python, "-u", handler, "--rp_serve_api", "--rp_api_host", "127.0.0.1",
                        "--rp_api_port", str(self.port)]

        return OriginalRunpodRuntime(copy, env=env)

    def call_original(self, runtime: Runtime, inputs: dict[str, Any], streaming: bool) -> Outcome:
        return runtime.stream(inputs) if streaming else runtime.predict(inputs)
