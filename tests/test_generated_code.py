"""Generated Python reads as hand-written: every generated ``.py`` of every example, for every
registered target (server: projects too), passes ``ruff format --check`` and ``ruff check``
under the project's own [tool.ruff] rules, run the way the artifact's owner would run them:
from the artifact's folder, its code folders counted as first-party (import sorting)."""

from __future__ import annotations

import os
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

import portapack
from portapack.spec.loader import load_project
from portapack.targets import TARGETS

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = sorted(p.name for p in (ROOT / "examples").iterdir() if (p / "portapack.yaml").is_file())
RUFF = Path(sys.executable).parent / "ruff"


def ruff_config(artifact: Path, code_dir: str) -> Path:
    """The project's [tool.ruff] as a ruff.toml for one artifact (its own exclusions left
    out: they name portapack's folders, not the artifact's)."""
    settings = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["ruff"]
    lint = settings["lint"]
    lines = [f"line-length = {settings['line-length']}",
             f"target-version = {settings['target-version']!r}",
             f"src = {['.', code_dir] if code_dir else ['.']!r}",
             "[lint]",
             f"select = {lint['select']!r}"]
    assert set(settings) <= {"line-length", "target-version", "extend-exclude", "lint"}, (
        "pyproject's [tool.ruff] grew a setting this test does not copy")
    assert set(lint) == {"select"}, "pyproject's [tool.ruff.lint] grew a setting this test does not copy"
    path = artifact / "ruff.toml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def generated_python(example: str, target: str) -> list[str]:
    """The .py files the target renders from templates (the user's own code is theirs)."""
    project = load_project(ROOT / "examples" / example / "portapack.yaml")
    templates = TARGETS[target]().for_project(project).templates
    return sorted(rel for rel in templates if rel.endswith(".py"))


@pytest.fixture(scope="module")
def builds(tmp_path_factory):
    out = tmp_path_factory.mktemp("generated")
    return {ex: portapack.build(ROOT / "examples" / ex, "all", out / ex) for ex in EXAMPLES}


def ruff(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "NO_COLOR": "1"}
    return subprocess.run([str(RUFF), *args], cwd=cwd, capture_output=True, text=True, env=env)


# Every (example, target) whose artifact has generated Python (a Truss docker_server has none).
CASES = [(ex, t) for ex in EXAMPLES for t in TARGETS if generated_python(ex, t)]


def test_every_target_is_covered():
    assert {t for _, t in CASES} == set(TARGETS)


@pytest.mark.parametrize(("example", "target"), CASES)
def test_generated_python_is_ruff_clean(builds, example, target):
    artifact = builds[example][target].path
    files = generated_python(example, target)
    config = str(ruff_config(artifact, TARGETS[target].code_dir))
    formatted = ruff("format", "--no-cache", "--check", "--diff", "--config", config, *files, cwd=artifact)
    assert formatted.returncode == 0, (
        f"{example}/{target}: generated Python is not as ruff formats it:\n"
        f"{formatted.stdout}{formatted.stderr}")
    checked = ruff("check", "--no-cache", "--output-format", "concise", "--config", config, *files,
                   cwd=artifact)
    assert checked.returncode == 0, (
        f"{example}/{target}: ruff check finds problems:\n{checked.stdout}{checked.stderr}")


def test_a_badly_formatted_file_fails(tmp_path):
    """The check can fail: single quotes and an unsorted import are caught."""
    (tmp_path / "bad.py").write_text("import sys\nimport os\n\nx = 'a'\nprint(os, sys, x)\n",
                                     encoding="utf-8")
    config = str(ruff_config(tmp_path, ""))
    assert ruff("format", "--no-cache", "--check", "--config", config, "bad.py", cwd=tmp_path).returncode == 1
    assert ruff("check", "--no-cache", "--config", config, "bad.py", cwd=tmp_path).returncode == 1
