"""The layout's promises, checked on the source: core code outside ``targets/`` names no
platform, the spec never imports a target, no third-party document is committed, and the
public imports of the docs still work."""

from __future__ import annotations

import ast
import io
import re
import subprocess
import tokenize
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "portapack"
# Every platform a built-in target serves, by the names code would use for it.
PLATFORM = re.compile(r"(?<![a-z])(modal|cog|coglet|truss|baseten|runpod|replicate|r8\.im|kserve|"
                      r"knative|inferenceservice)(?![a-z])", re.I)


def _code_words(path: Path) -> list[tuple[int, str]]:
    """(line, text) of every name and string in ``path`` that is neither a comment nor a docstring."""
    source = path.read_text(encoding="utf-8")
    doc_lines: set[int] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef) and node.body:
            first = node.body[0]
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant) \
                    and isinstance(first.value.value, str):
                doc_lines.update(range(first.lineno, (first.end_lineno or first.lineno) + 1))
    return [(tok.start[0], tok.string) for tok in tokenize.generate_tokens(io.StringIO(source).readline)
            if tok.type in (tokenize.NAME, tokenize.STRING) and tok.start[0] not in doc_lines]


def _builtin_lines(path: Path) -> set[int]:
    for node in ast.parse(path.read_text(encoding="utf-8")).body:
        if isinstance(node, ast.Assign) and any(getattr(t, "id", "") == "BUILTIN" for t in node.targets):
            return set(range(node.lineno, (node.end_lineno or node.lineno) + 1))
    raise AssertionError("the registry has no BUILTIN list")


def test_core_code_outside_targets_names_no_platform():
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        rel = path.relative_to(PACKAGE)
        if rel.parts[0] == "targets" and len(rel.parts) > 2:
            continue  # targets/<name>/...: where a platform's facts belong
        builtins = _builtin_lines(path) if rel == Path("targets/__init__.py") else set()
        for line, word in _code_words(path):
            if line in builtins:
                continue  # the registry's list of built-in targets: the one place that names them
            for hit in PLATFORM.findall(word):
                found.append(f"portapack/{rel}:{line}: {hit!r} in {word[:70]}")
    assert found == []


def _imports(path: Path) -> set[str]:
    """Every module ``path`` imports, at any depth (TYPE_CHECKING blocks included)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
            names.update(f"{node.module}.{a.name}" for a in node.names)
        elif isinstance(node, ast.Import):
            names.update(a.name for a in node.names)
        elif isinstance(node, ast.Call) and getattr(node.func, "id", "") == "import_module" and node.args \
                and isinstance(node.args[0], ast.Constant):
            names.add(str(node.args[0].value))
    return names


def test_the_spec_never_imports_a_target():
    spec = PACKAGE / "spec"
    offenders = {f"portapack/spec/{p.relative_to(spec)}": sorted(m for m in _imports(p) if "targets" in m)
                 for p in spec.rglob("*.py")}
    assert {k: v for k, v in offenders.items() if v} == {}


def test_targets_reach_the_spec_only_through_the_registry_hook():
    """The registry fills spec.options; the spec's `targets:` section works from a fresh interpreter."""
    code = ("import portapack, sys; p = portapack.load_project('examples/text-stats'); "
            "print(sorted(type(p.spec.targets).model_fields))")
    out = subprocess.run([__import__("sys").executable, "-c", code], cwd=ROOT, capture_output=True,
                         text=True, check=True).stdout
    from portapack.targets import names

    assert out.strip() == str(sorted(names()))


THIRD_PARTY = re.compile(r"openapi|crd|json-?schema|config-schema", re.I)


def test_no_third_party_document_is_committed():
    files = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True).stdout.split()
    if not files:
        pytest.skip("not a git checkout")
    vendored = [f for f in files if f.endswith((".json", ".yaml", ".yml"))
                and THIRD_PARTY.search(Path(f).name)
                and not f.startswith(("examples/", "tests/golden/"))]
    assert vendored == []
    assert not any(f.startswith("tests/schemas/") for f in files)


def test_public_imports_of_the_docs():
    import portapack
    from portapack.targets.base import Feature, GpuMapping, Hardware, Target  # noqa: F401

    for name in ("build", "test", "deploy", "load_project", "Project", "TARGETS", "TestReport",
                 "SpecError", "BuildResult"):
        assert callable(getattr(portapack, name)) or getattr(portapack, name) is not None
    assert portapack.build.__module__ == "portapack" and portapack.test.__module__ == "portapack"
