"""``portapack import runpod``: a RunPod queue worker (``handler(job)`` started with
``runpod.serverless.start``) and its Dockerfile.

Worker conventions as runpod 1.12.0 and docs.runpod.io/serverless/workers/handler-functions
show them (read 2026-12-01): ``job["input"]`` holds the request, a returned ``{"error": ...}``
fails the job, a generator handler streams, ``test_input.json`` holds ``{"input": {...}}``.
"""

from __future__ import annotations

import ast
import json
import re
import shlex
from pathlib import Path
from typing import Any

import libcst as cst

from ..errors import Problem, SpecError
from ..spec import PYTHON_VERSIONS
from .base import Imported, slug, user_files, without_platform_sdk
from .cog_runner import DRAIN
from .source import add_imports, parse, platform_bindings
from .typed import DICT_INPUT, dict_reads, infer, wrapper

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
    requirements = _dockerfile(src, spec, imported)
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
    if streaming:
        job = f"def _job(self, payload):\n    yield from {call}\n"
    else:
        job = (f"def _job(self, payload):\n    result = {call}\n"
               "    if isinstance(result, dict) and \"error\" in result:  # RunPod fails such a job\n"
               "        raise RuntimeError(result[\"error\"])\n    return result\n")
        imported.note(rel, "a returned {\"error\": ...} raises, so every target reports a failure "
                      "as RunPod does")
    indent = lambda text: "".join(f"    {ln}\n" if ln else "\n" for ln in text.splitlines())  # noqa: E731
    cls = ("\n\nclass Predictor:\n    \"\"\"The worker's handler as a portapack predictor.\"\"\"\n\n"
           "    def load(self) -> None:\n        pass  # the worker loads its model at import, above\n\n"
           + indent(method) + "\n" + indent(job))
    text = module.code.rstrip("\n") + "\n" + cls
    if is_async and streaming:
        text += DRAIN
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


def _logical_lines(text: str) -> list[str]:
    lines, current = [], ""
    for raw in text.splitlines():
        if raw.strip().startswith("#") and not current:
            continue
        current += raw.rstrip()
        if current.endswith("\\"):
            current = current[:-1] + " "
            continue
        if current.strip():
            lines.append(current.strip())
        current = ""
    return lines


def _dockerfile(src: Path, spec: dict[str, Any], imported: Imported) -> list[str]:
    path = src / "Dockerfile"
    requirements: list[str] = []
    if not path.is_file():
        imported.note("Dockerfile", "none found: dependencies come from requirements.txt only")
        if (src / "requirements.txt").is_file():
            requirements = _req_file(src, "requirements.txt", imported)
        return _without_runpod(requirements, imported)
    env: dict[str, str] = {}
    system: list[str] = []
    commands: list[str] = []
    for line in _logical_lines(path.read_text(encoding="utf-8")):
        op, _, rest = line.partition(" ")
        op = op.upper()
        if op == "FROM":
            image = rest.split()[0]
            m = re.match(r"(?:docker\.io/)?(?:library/)?python:(\d\.\d+)", image)
            if m and m.group(1) in PYTHON_VERSIONS:
                spec["python"] = m.group(1)
            else:
                spec.setdefault("targets", {})["runpod"] = {"base_image": image}
                imported.note("Dockerfile FROM", f"{image} became targets.runpod.base_image; the "
                              "other targets use their own base images", lost=True)
        elif op == "ENV":
            env.update(_env(rest))
        elif op == "RUN":
            for part in re.split(r"\s*(?:&&|;)\s*", rest):
                _run_part(part, src, requirements, system, commands, spec, imported)
        elif op in ("ARG", "ENTRYPOINT", "USER", "VOLUME", "HEALTHCHECK", "SHELL"):
            imported.note(f"Dockerfile {op}", f"'{line}' is not carried", lost=True)
    if env:
        spec["env"] = env
    if system:
        spec["system_packages"] = system
    if commands:
        spec["build_commands"] = commands
    return _without_runpod(requirements, imported)


def _run_part(part: str, src: Path, requirements: list[str], system: list[str], commands: list[str],
              spec: dict[str, Any], imported: Imported) -> None:
    words = shlex.split(part) if part else []
    if not words:
        return
    version = re.match(r"python(3\.\d+)$", words[0])
    if version and version.group(1) in PYTHON_VERSIONS and "python" not in spec:
        spec["python"] = version.group(1)
    if "pip" in words and "install" in words:
        args = words[words.index("install") + 1:]
        n = 0
        while n < len(args):
            arg = args[n]
            if arg in ("-r", "--requirement") and n + 1 < len(args):
                requirements += _req_file(src, args[n + 1].lstrip("/"), imported)
                n += 2
                continue
            if not arg.startswith("-"):
                requirements.append(arg)
            n += 1
    elif words[:2] in (["apt-get", "install"], ["apt", "install"]):
        system += [w for w in words[2:] if not w.startswith("-")]
    elif words[:2] in (["apt-get", "update"], ["apt", "update"], ["apt-get", "clean"]) or (
            words[:2] == ["rm", "-rf"] and all(w.startswith("/var/lib/apt") for w in words[2:])):
        return
    else:
        commands.append(part)
        imported.note("Dockerfile RUN", f"'{part}' became a build command on every target")


def _req_file(src: Path, rel: str, imported: Imported) -> list[str]:
    path = src / rel
    if not path.is_file():
        imported.note("Dockerfile", f"requirements file {rel} not found beside the Dockerfile", lost=True)
        return []
    reqs = []
    for line in path.read_text(encoding="utf-8").splitlines():
        line = line.split(" #")[0].strip()
        if line.startswith("-"):
            imported.note(rel, f"pip option '{line}' not carried", lost=True)
        elif line and not line.startswith("#"):
            reqs.append(line)
    return reqs


def _without_runpod(requirements: list[str], imported: Imported) -> list[str]:
    kept, dropped = without_platform_sdk(requirements, "runpod")
    if dropped:
        imported.note("requirements", f"dropped {', '.join(dropped)} (the runpod target adds it)")
    return kept


def _env(rest: str) -> dict[str, str]:
    words = shlex.split(rest)
    if words and "=" not in words[0]:  # legacy `ENV KEY value with spaces`
        return {words[0]: " ".join(words[1:])}
    return dict(w.split("=", 1) for w in words if "=" in w)
