"""The proof: each importable fixture that runs on CPU is imported, its examples run on the
ORIGINAL under the platform's own runtime (Cog's server, Truss's loader, RunPod's local API),
and ``portapack test`` must reproduce those outputs in-process and on all four targets.
Slow (a few seconds each): real servers, no stand-ins."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from portapack.cli import main

FIXTURES = Path(__file__).parent / "fixtures" / "import"

CASES = [
    ("cog", "hello-world", ['{"name": "Ada", "excited": true, "style": "fancy", "repeat": 2}']),
    ("cog", "stream-runner", ['{"prompt": "hello", "max_tokens": 3}']),
    ("cog", "async-runner", ['{"x": 7}', '{"x": 11, "delay": 0}']),
    ("cog", "secret-runner", ['{"text": "sign-me"}']),
    ("truss", "typed-model", []),
    ("truss", "streaming-model", []),
    ("runpod", "plain-handler", []),
    ("runpod", "generator-handler", []),
]


@pytest.mark.parametrize(("platform", "name", "examples"), CASES)
def test_imported_project_behaves_like_the_original(tmp_path, platform, name, examples):
    args = ["import", platform, str(FIXTURES / platform / name), "--out", str(tmp_path / "out"),
            "--verify", "--json"]
    for example in examples:
        args += ["--example", example]
    result = CliRunner().invoke(main, args)
    data = json.loads(result.output)
    rows = data["verify"]["results"]
    failures = [r for r in rows if not r["ok"]]
    assert result.exit_code == 0 and not failures, json.dumps(failures, indent=2)
    original = [r for r in rows if r["target"] == "original"]
    assert original and all(r["actual"] is not None for r in original)
    ran = {r["target"] for r in rows}
    assert ran == {"original", "in-process", "modal", "cog", "truss", "runpod"}
    for row in rows:  # every target's example output is the original's
        if row["case"].startswith("example") and row["target"] != "original":
            n = int(row["case"].split()[1])
            assert row["expected"] == original[n - 1]["actual"]
