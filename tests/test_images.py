"""The RunPod artifact as a real Docker image on a real engine: build, run, /runsync, stream.

Needs a Docker engine and a local base image with Python (Docker Hub is not reachable here):
.ci/docker-setup.sh prepares both. Without them these tests skip, saying why; with
PORTAPACK_REQUIRE_DOCKER=1 (set by CI once the engine is up) they fail instead.
"""

from __future__ import annotations

import json
import re
import shutil
import uuid
from pathlib import Path

import pytest
from click.testing import CliRunner
from dockerenv import BASE, engine_with_base

import portapack
from portapack.cli import main
from portapack.proof.engine import DockerUnavailable, build_image, docker_client
from portapack.targets.runpod.image import DockerRunpodRuntime

ROOT = Path(__file__).resolve().parent.parent
@pytest.fixture(scope="module")
def client():
    return engine_with_base()


def build_example(example: str, out: Path) -> Path:
    return portapack.build(ROOT / "examples" / example, ["runpod"], out)["runpod"].path


@pytest.mark.docker
@pytest.mark.parametrize("example", ["text-stats", "token-stream", "numpy-linear"])
def test_image_runs_every_example(client, tmp_path, example):
    project = portapack.load_project(ROOT / "examples" / example)
    tag = f"portapack-test/{example}:latest"
    result = build_image(build_example(example, tmp_path), tag, base_image=BASE)
    assert result.size > result.base_size
    with DockerRunpodRuntime(tag) as runtime:
        for case in project.spec.examples:
            outcome = runtime.predict(case.input)
            assert outcome.ok, outcome.error
            assert outcome.output == case.output
            if project.predictor.streaming:
                streamed = runtime.stream(case.input)
                assert streamed.ok and streamed.items == case.output
        first = project.predictor.inputs[0].name
        bad = dict(project.spec.examples[0].input, **{first: 12345 if project.predictor.inputs[
            0].kind == "str" else "nope"})
        outcome = runtime.predict(bad)
        assert not outcome.ok and f"input '{first}'" in outcome.error


@pytest.mark.docker
def test_editing_the_predictor_rebuilds_only_the_code_layer(client, tmp_path):
    project_dir = tmp_path / "proj"
    shutil.copytree(ROOT / "examples" / "text-stats", project_dir)
    build_dir = portapack.build(project_dir, ["runpod"], tmp_path / "out")
    path = build_dir["runpod"].path
    tag = "portapack-test/layers:latest"
    build_image(path, tag, base_image=BASE)
    predictor = project_dir / "predict.py"
    # A unique edit: the engine's cache must not already hold this layer from an earlier run.
    predictor.write_text(predictor.read_text() + f"\n# edit {uuid.uuid4()}\n")
    portapack.build(project_dir, ["runpod"], tmp_path / "out")
    lines: list[str] = []
    build_image(path, tag, base_image=BASE, on_progress=lines.append)
    log = "\n".join(lines)
    # BuildKit's plain log: "#N [stage k/n] INSTRUCTION" then "#N CACHED" for a reused step.
    deps = re.search(r"^#(\d+) \[builder \d+/\d+\] RUN .*uv pip install", log, re.M)
    code = re.search(r'^#(\d+) \[stage-\d+ \d+/\d+\] COPY \[predict\.py', log, re.M)
    assert deps and code, log
    assert re.search(rf"^#{deps.group(1)} CACHED", log, re.M), "the dependency layer was rebuilt"
    assert not re.search(rf"^#{code.group(1)} CACHED", log, re.M), "the code layer was not rebuilt"


@pytest.mark.docker
def test_image_holds_only_the_needed_packages(client, tmp_path):
    """uv, pip and setuptools stay in the builder stage: the venv has the requirements only."""
    path = build_example("text-stats", tmp_path)
    tag = "portapack-test/lean:latest"
    build_image(path, tag, base_image=BASE)
    listing = client.containers.run(tag, ["python", "-c", (
        "import importlib.metadata as m, json; print(json.dumps(sorted(d.metadata['Name'].lower() "
        "for d in m.distributions(path=['/opt/venv/lib/python3.11/site-packages']))))")],
        remove=True).decode()
    names = json.loads(listing)
    assert "runpod" in names and "pydantic" in names
    assert not {"pip", "setuptools", "uv", "wheel"} & set(names), names


@pytest.mark.docker
def test_portapack_test_with_image(client, tmp_path, monkeypatch):
    monkeypatch.chdir(ROOT / "examples" / "text-stats")
    result = CliRunner().invoke(main, ["test", "--target", "runpod", "--image", "--base-image",
                                       BASE, "--out", str(tmp_path / "b"), "--json"])
    assert result.exit_code == 0, result.output

    report = json.loads(result.output)
    image_rows = [r for r in report["results"] if r["target"] == "runpod-image"]
    assert {r["case"] for r in image_rows} >= {"example 1", "example 2", "example 3", "invalid"}
    assert all(r["ok"] for r in image_rows)


def test_no_engine_gives_a_clear_error(monkeypatch, tmp_path):
    monkeypatch.setenv("DOCKER_HOST", f"unix://{tmp_path}/nope.sock")
    with pytest.raises(DockerUnavailable, match="no Docker engine is reachable"):
        docker_client()
    result = CliRunner().invoke(main, ["image", "--spec", str(ROOT / "examples" / "text-stats"),
                                       "--out", str(tmp_path / "b")])
    assert result.exit_code == 1
    assert "no Docker engine is reachable" in result.output
    assert "Traceback" not in result.output


@pytest.mark.docker
def test_uv_trusts_the_system_ca_store_without_ca_variables(client, tmp_path):
    """Behind a TLS-inspecting proxy the proxy's CA is in the base's system store only: no
    SSL_CERT_FILE (CI's base sets one; a user's corporate base need not). uv's own roots
    refuse the proxy (UnknownIssuer); the Dockerfile makes uv use the system store, as pip does."""
    import subprocess

    bare = "portapack-test/base-without-ca-env:latest"
    container = client.containers.create(BASE)
    try:  # the same files as BASE, but an image without any ENV (an export/import drops it)
        subprocess.run(f"docker export {container.id} | docker import --change "
                       "'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' "
                       f"- {bare}", shell=True, check=True, capture_output=True, timeout=300)
    finally:
        container.remove(force=True)
    env = client.images.get(bare).attrs["Config"]["Env"]
    assert not [e for e in env if e.startswith(("SSL_CERT_FILE", "PIP_CERT", "REQUESTS_CA"))]
    path = build_example("text-stats", tmp_path)
    assert "UV_SYSTEM_CERTS=1" in (path / "Dockerfile").read_text()
    result = build_image(path, "portapack-test/system-ca:latest", base_image=bare)
    assert result.size > result.base_size
