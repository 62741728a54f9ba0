"""Golden files: every generated file of every example, per target, through the real build.

Regenerate after an intended change with:  PORTAPACK_UPDATE_GOLDEN=1 pytest tests/test_golden.py
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

import portapack
from portapack.spec.loader import load_project
from portapack.targets import TARGETS

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = sorted(p.name for p in (ROOT / "examples").iterdir() if (p / "portapack.yaml").is_file())
GOLDEN = Path(__file__).parent / "golden"
UPDATE = os.environ.get("PORTAPACK_UPDATE_GOLDEN") == "1"


def templates_of(example: str, target: str) -> dict[str, str]:
    """What the target generates for this example (a server: project has its own templates)."""
    spec = ROOT / "examples" / example / "portapack.yaml"
    if "\nserver:" not in spec.read_text(encoding="utf-8"):
        return TARGETS[target].templates
    return TARGETS[target]().for_project(load_project(spec)).templates


@pytest.fixture(scope="module")
def builds(tmp_path_factory):
    out = tmp_path_factory.mktemp("golden")
    return {ex: portapack.build(ROOT / "examples" / ex, "all", out / ex) for ex in EXAMPLES}


@pytest.mark.parametrize("target", list(TARGETS))
@pytest.mark.parametrize("example", EXAMPLES)
def test_generated_files_match_golden(builds, example, target):
    built = builds[example][target]
    generated = sorted(templates_of(example, target))
    for rel in generated:
        actual = (built.path / rel).read_text(encoding="utf-8")
        golden = GOLDEN / example / target / rel
        if UPDATE:
            golden.parent.mkdir(parents=True, exist_ok=True)
            golden.write_text(actual, encoding="utf-8")
            continue
        assert golden.is_file(), f"no golden file {golden}; run with PORTAPACK_UPDATE_GOLDEN=1"
        assert actual == golden.read_text(encoding="utf-8"), (
            f"{example}/{target}/{rel} differs from its golden file; if intended, "
            "regenerate with PORTAPACK_UPDATE_GOLDEN=1")


def test_no_stale_golden_files():
    """Every golden file belongs to an example and a file a target still generates."""
    for path in GOLDEN.rglob("*"):
        if path.is_file():
            example, target, *rest = path.relative_to(GOLDEN).parts
            assert example in EXAMPLES, path
            assert "/".join(rest) in templates_of(example, target), path
