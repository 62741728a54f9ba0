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


# -- Project.with_options -------------------------------------------------------------------------
def test_with_options_changes_an_option_and_the_build_carries_it(tmp_path):
    import json

    project = portapack.load_project(copy_example("text-stats", tmp_path / "proj"))
    changed = project.with_options({"targets": {"runpod": {"container_disk_gb": 40}}})
    assert changed.spec.targets.runpod.container_disk_gb == 40
    assert project.spec.targets.runpod.container_disk_gb == 20  # the original is untouched
    assert changed.spec.resources == project.spec.resources  # a deep merge: the rest stays
    again = changed.with_options({"resources": {"cpu": 2}})  # merged over the first change
    assert (again.spec.targets.runpod.container_disk_gb, again.spec.resources.cpu) == (40, 2)
    built = portapack.build(changed, "runpod", tmp_path / "out")["runpod"].path
    assert json.loads((built / "endpoint.json").read_text())["disk"] == 40


def test_with_options_validates_like_the_spec_file(tmp_path):
    project = portapack.load_project(copy_example("text-stats", tmp_path / "proj"))
    with pytest.raises(portapack.SpecError) as caught:
        project.with_options({"targets": {"runpod": {"container_disk_gb": "forty"}}})
    assert str(caught.value).startswith("with_options targets.runpod.container_disk_gb: ")
    assert "'forty'" in str(caught.value)
    with pytest.raises(portapack.SpecError, match="did you mean 'container_disk_gb'"):
        project.with_options({"targets": {"runpod": {"container_dsk_gb": 40}}})
