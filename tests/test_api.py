"""The public Python API: build, test and deploy from a build script, without the CLI."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

import portapack

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


def copy_example(name: str, dest: Path) -> Path:
    shutil.copytree(EXAMPLES / name, dest, ignore=shutil.ignore_patterns("__pycache__", "build"))
    return dest


def test_public_names_are_exported():
    for name in ("build", "test", "deploy", "load_project", "TestReport"):
        assert name in portapack.__all__
        assert getattr(portapack, name) is not None


def test_test_runs_every_example_in_process_and_on_the_target(tmp_path):
    project = copy_example("text-stats", tmp_path / "proj")
    report = portapack.test(project, targets=["runpod"], out=tmp_path / "out")
    assert isinstance(report, portapack.TestReport)
    assert report.ok, [r for r in report.results if not r.ok]
    assert {r.target for r in report.results} == {"in-process", "runpod"}
    assert any(r.case == "invalid" and r.target == "runpod" for r in report.results)


def test_test_reports_a_wrong_expected_output_as_a_failure(tmp_path):
    project = copy_example("text-stats", tmp_path / "proj")
    spec = project / "portapack.yaml"
    text = spec.read_text()
    assert portapack.load_project(project).spec.examples[0].output is not None
    # Break the first expected output: every target must now fail that example.
    import yaml

    data = yaml.safe_load(text)
    data["examples"][0]["output"] = {"not": "what the model returns"}
    spec.write_text(yaml.safe_dump(data))
    report = portapack.test(project, targets=["runpod"], out=tmp_path / "out")
    assert not report.ok
    failed = {(r.target, r.case) for r in report.failures}
    assert ("in-process", "example 1") in failed and ("runpod", "example 1") in failed


def test_test_without_examples_is_a_spec_error(tmp_path):
    project = copy_example("text-stats", tmp_path / "proj")
    import yaml

    spec = project / "portapack.yaml"
    data = yaml.safe_load(spec.read_text())
    data.pop("examples")
    spec.write_text(yaml.safe_dump(data))
    with pytest.raises(portapack.SpecError, match="no examples"):
        portapack.test(project, targets=["runpod"], out=tmp_path / "out")
