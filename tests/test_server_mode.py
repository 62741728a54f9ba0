"""server: projects (issue 12): the spec, each platform's idiom checked by the platform's own
validator (Cog's: its config schema and its SDK inspector, tests/cog_judges.py), and the tiny
OpenAI-compatible server run through every target's adapter."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from cog_judges import cog_yaml_errors, cogs_reading, schema_differences

import portapack
from portapack.errors import SpecError, TargetError
from portapack.proof.runtimes import get_runtime
from portapack.proof.server_testing import check
from portapack.proof.testing import run_tests
from portapack.spec.server import HttpExample, lookup
from tests.runpod_standin import schema_errors

ROOT = Path(__file__).resolve().parent.parent
TINY, VLLM = ROOT / "examples" / "tiny-llm", ROOT / "examples" / "vllm-chat"
TARGETS = ["modal", "cog", "truss", "runpod", "kserve"]


def spec_with(tmp_path: Path, **changes) -> Path:
    """The tiny example copied, with top-level fields replaced (None removes one)."""
    root = tmp_path / "proj"
    shutil.copytree(TINY, root, ignore=shutil.ignore_patterns("__pycache__"))
    data = yaml.safe_load((root / "portapack.yaml").read_text())
    for key, value in changes.items():
        if value is None:
            data.pop(key, None)
        else:
            data[key] = value
    (root / "portapack.yaml").write_text(yaml.safe_dump(data, sort_keys=False))
    return root


def messages(tmp_path: Path, **changes) -> list[str]:
    with pytest.raises(SpecError) as info:
        portapack.load_project(spec_with(tmp_path, **changes))
    return [str(p) for p in info.value.problems]


# -- the spec -----------------------------------------------------------------------------------
def test_predictor_and_server_together_are_refused(tmp_path):
    (tmp_path / "x").mkdir()
    found = messages(tmp_path, predictor="predict.py:Predictor")
    assert any("server: give either predictor: (a Python class) or server:" in m for m in found)


def test_neither_predictor_nor_server_says_what_to_add(tmp_path):
    found = messages(tmp_path, server=None, examples=[])
    assert len(found) == 1
    assert found[0].endswith("'predictor' is required (or a server: block: command, port, routes)")


def test_examples_must_be_http_requests_on_listed_routes(tmp_path):
    found = messages(tmp_path, examples=[{"input": {"a": 1}}, {"route": "/v1/embeddings"}])
    assert any("examples.0: use route/body/status with a server: block" in m for m in found)
    assert any("examples.1.route: /v1/embeddings is not in server.routes" in m for m in found)


@pytest.mark.parametrize(("server", "needle"), [
    ({"command": "x --port 9000", "port": 9001, "routes": ["/a"]},
     "command listens on port 9000 but port is 9001"),
    ({"command": "x", "port": 9000, "routes": ["/a", "/a"]}, "routes lists /a twice"),
    ({"command": "x", "port": 9000, "routes": []}, "routes"),
    ({"command": "x", "port": 9000, "routes": ["v1"]}, "routes.0"),
    ({"command": "x", "port": 9000, "routes": ["/a"], "helth": "/h"}, "did you mean 'health'"),
])
def test_bad_server_blocks_name_the_field(tmp_path, server, needle):
    found = messages(tmp_path, server=server, examples=[])
    assert any(needle in m and "server" in m for m in found), found


def test_http_example_checks():
    example = HttpExample.model_validate(
        {"route": "/v1/x", "json": {"choices.0.message.content": "b a"}})
    from portapack.proof.server_runtime import HttpReply

    good = HttpReply(200, json.dumps({"choices": [{"message": {"content": "b a"}}]}))
    assert check(example, good) is None
    assert "is 'a b', expected 'b a'" in check(example, HttpReply(200, json.dumps(
        {"choices": [{"message": {"content": "a b"}}]})))
    assert "HTTP 500, expected 200" in check(example, HttpReply(500, "boom"))
    assert lookup({"a": [{"b": 1}]}, "a.0.b") == 1
    with pytest.raises(KeyError):
        lookup({"a": []}, "a.0")


# -- what each platform cannot take -------------------------------------------------------------
@pytest.mark.parametrize(("target", "port", "words"), [
    ("truss", 8080, "server.port 8080 is reserved by Baseten's proxy; use another port"),
    # RunPod's /ping sidecar listens on port + 1: the rule is RunPod's, not the spec's.
    ("runpod", 65535, "server.port: RunPod's health sidecar listens on port + 1"),
])
def test_a_port_one_platform_cannot_take_is_refused_there_only(tmp_path, target, port, words):
    root = spec_with(tmp_path, server={"command": f"python3 tiny_openai.py --port {port}",
                                       "port": port, "routes": ["/v1/chat/completions"]},
                     examples=[])
    with pytest.raises(SpecError) as info:
        portapack.build(root, target, tmp_path / "out")
    assert words in str(info.value)
    assert not (tmp_path / "out" / target).exists()
    others = [t for t in ("modal", "cog", "truss", "runpod") if t != target]
    result = portapack.build(root, others, tmp_path / "out")
    assert sorted(b.target for b in result.builds) == sorted(others)


def test_cog_needs_an_openai_first_route(tmp_path):
    root = spec_with(tmp_path, server={"command": "python3 tiny_openai.py --port 9471",
                                       "port": 9471, "routes": ["/v1/models"]}, examples=[])
    with pytest.raises(SpecError) as info:
        portapack.build(root, "cog", tmp_path / "out")
    assert "server.routes[0] must be /v1/chat/completions or /v1/completions" in str(info.value)


def test_gpu_snapshot_needs_a_gpu_and_sleep_needs_sleep_mode(tmp_path):
    root = spec_with(tmp_path, targets={"modal": {"gpu_snapshot": True, "snapshot_sleep": {
        "sleep": "/sleep?level=1", "wake": "/wake_up"}}})
    with pytest.raises(SpecError) as info:
        portapack.build(root, "modal", tmp_path / "out")
    text = str(info.value)
    assert "targets.modal.gpu_snapshot needs resources.gpu" in text
    assert "snapshot_sleep needs --enable-sleep-mode in server.command" in text


def test_local_weights_are_refused_for_servers(tmp_path):
    root = spec_with(tmp_path, weights=[{"source": "tiny_openai.py", "path": "/weights/x"}])
    with pytest.raises(SpecError) as info:
        portapack.build(root, "runpod", tmp_path / "out")
    assert "weights[0]: a local source" in str(info.value)


def test_a_target_without_a_server_mode_refuses_clearly():
    from portapack.targets import get_target
    from portapack.targets.base import Target

    project = portapack.load_project(TINY)
    target = get_target("modal")
    plain = type("Plain", (type(target),), {"server_mode": None})()
    with pytest.raises(TargetError, match="cannot package a server: block"):
        Target.for_project(plain, project)


# -- builds, checked by each platform's own validator --------------------------------------------
@pytest.fixture(scope="module")
def builds(tmp_path_factory):
    out = tmp_path_factory.mktemp("servers")
    return {name: portapack.build(root, "all", out / name)
            for name, root in (("tiny", TINY), ("vllm", VLLM))}


def test_tiny_builds_every_target_with_its_files(builds):
    files = {b.target: set(b.files) for b in builds["tiny"].builds}
    assert files["truss"] == {"config.yaml", "README.md", "data/tiny_openai.py"}
    assert files["modal"] == {"modal_app.py", "README.md", "tiny_openai.py"}
    assert files["runpod"] == {"Dockerfile", "ping.py", ".dockerignore", "requirements.txt",
                               "endpoint.json", "README.md", "tiny_openai.py"}
    assert files["cog"] == {"cog.yaml", "run.py", "requirements.txt", "replicate-deployment.json",
                            ".dockerignore", ".cog/openapi_schema.json", "README.md",
                            "tiny_openai.py"}
    assert files["kserve"] == {"Dockerfile", ".dockerignore", "requirements.txt",
                               "inferenceservice.yaml", "README.md", "tiny_openai.py"}
    for b in builds["tiny"].builds:
        assert json.loads((b.path / ".portapack-build.json").read_text())["mode"] == "server"
        assert type(get_runtime(b.target, b.path)).__name__.endswith("ServerRuntime")


@pytest.mark.parametrize("example", ["tiny", "vllm"])
def test_truss_accepts_the_docker_server_config(builds, example):
    from truss.base.truss_config import TrussConfig

    path = builds[example]["truss"].path / "config.yaml"
    config = TrussConfig.from_yaml(path)
    config.validate_forbid_extra()
    server = yaml.safe_load(path.read_text())["docker_server"]
    assert server["predict_endpoint"] == "/v1/chat/completions"
    assert server["readiness_endpoint"] == server["liveness_endpoint"] == "/health"
    if example == "vllm":
        assert config.base_image.image == "vllm/vllm-openai:v0.11.0"
        assert server["start_command"].startswith(
            "sh -c 'export HF_TOKEN=\"$(cat /secrets/HF_TOKEN)\" && exec vllm serve")


@pytest.mark.parametrize("example", ["tiny", "vllm"])
def test_modal_app_imports_with_warnings_as_errors(builds, example):
    path = builds[example]["modal"].path
    done = subprocess.run([sys.executable, "-W", "error", "-c", "import modal_app"], cwd=path,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    text = (path / "modal_app.py").read_text()
    assert "@modal.web_server(port=PORT, startup_timeout=STARTUP_TIMEOUT)" in text
    snapshot = 'experimental_options={"enable_gpu_snapshot": True}' in text
    assert snapshot == (example == "vllm")  # off by default, on when the spec asks
    if example == "vllm":
        assert "@modal.enter(snap=True)" in text and 'post("/sleep?level=1")' in text


@pytest.mark.parametrize("example", ["tiny", "vllm"])
def test_runpod_body_is_a_valid_load_balancer(builds, example):
    body = json.loads((builds[example]["runpod"].path / "endpoint.json").read_text())
    assert schema_errors("#/components/schemas/CreateEndpointRequest", body) == []
    assert body["type"] == "LOAD_BALANCER" and body["scaling"]["type"] == "REQUEST_COUNT"
    port = 9471 if example == "tiny" else 8000
    assert body["ports"] == [f"{port}/http", f"{port + 1}/http"]
    assert body["env"]["PORT"] == str(port) and body["env"]["PORT_HEALTH"] == str(port + 1)
    wrong = dict(body, scaling={"type": "QUEUE_DELAY", "queueDelay": 4})
    assert schema_errors("#/components/schemas/CreateEndpointRequest", wrong)


@pytest.mark.parametrize("example", ["tiny", "vllm"])
def test_cog_runner_passes_cogs_own_checks(builds, example):
    """cog.yaml against Cog's config schema; the runner read by Cog's SDK inspector with
    deprecation warnings as errors, and .cog/openapi_schema.json saying what it reads
    (tests/cog_judges.py: Cog's judges without its Go CLI)."""
    path = builds[example]["cog"].path
    assert cog_yaml_errors(path / "cog.yaml") == []
    ours = json.loads((path / ".cog" / "openapi_schema.json").read_text())
    assert schema_differences(ours, cogs_reading(path)) == []


def test_build_notes_say_what_is_lost(builds):
    cog = [str(n) for n in builds["vllm"]["cog"].notes]
    assert any("/v1/completions, /v1/models not reachable on Replicate" in n for n in cog)
    assert any("secrets: not passed to the server process on Replicate" in n for n in cog)
    runpod = [str(n) for n in builds["vllm"]["runpod"].notes]
    assert not any("scaling.timeout" in n for n in runpod)  # 300 s fits RunPod's LB limit


# -- the tiny server through every target's adapter ----------------------------------------------
@pytest.mark.parametrize("target", TARGETS)
def test_tiny_server_answers_through_each_target(tmp_path, target):
    project = portapack.load_project(TINY)
    report = run_tests(project, [target], tmp_path / "out")
    results = {r.case: r for r in report.results}
    if target in ("truss", "runpod", "kserve") and "examples" in results:
        pytest.skip(results["examples"].skipped)  # no Docker engine here
    assert results["start"].ok, results["start"].error
    lost = {"example 3 POST /v1/completions", "example 4 GET /v1/models"}
    for case, result in results.items():
        if target == "cog" and case in lost:
            assert not result.ok and "not reachable on Replicate" in result.skipped
        else:
            assert result.ok, (case, result.error, result.actual)
    assert {"invalid", "after invalid", "example 2 POST /v1/chat/completions"} <= set(results)
    assert results["example 2 POST /v1/chat/completions"].actual["stream"] == "three two one"


def test_vllm_cannot_run_here_and_says_why(tmp_path):
    report = run_tests(portapack.load_project(VLLM), TARGETS, tmp_path / "out")
    assert not report.ok
    reasons = {r.target: r.skipped for r in report.results}
    assert set(reasons) == set(TARGETS) and all(reasons.values())
    assert "A100-80GB" in reasons["modal"] and "A100-80GB" in reasons["cog"]


def test_a_server_project_with_nothing_beside_the_spec_builds_an_importable_modal_app(tmp_path):
    """No files, no requirements: the image is plain debian_slim (the one-step layout once
    assumed a code file)."""
    import subprocess
    import sys

    root = tmp_path / "srv"
    root.mkdir()
    (root / "portapack.yaml").write_text(
        "name: srv\nserver:\n  command: python -m http.server 8000\n  port: 8000\n"
        "  health: /\n  routes: [/]\n")
    built = portapack.build(root, ["modal", "truss", "runpod"], tmp_path / "out")
    app = (built["modal"].path / "modal_app.py").read_text()
    assert 'image = modal.Image.debian_slim(python_version="3.11")\n' in app
    done = subprocess.run([sys.executable, "-W", "error", "-c", "import modal_app"],
                          cwd=built["modal"].path, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr


# -- the base image of the images server mode builds ----------------------------------------------
def test_server_images_build_from_the_artifacts_own_base_unless_told(tmp_path, monkeypatch):
    """Not CI's local image name: python:X.Y-slim (the RunPod Dockerfile's own default, what
    a user's Docker pulls); --base-image reaches the build."""
    from portapack.proof import engine
    from portapack.targets.runpod.server import RunpodServerRuntime
    from portapack.targets.truss.server import LOCAL_DOCKERFILE

    project = portapack.load_project(TINY)
    built = portapack.build(project, "runpod", tmp_path / "out")["runpod"].path
    assert "ARG BASE_IMAGE=python:3.11-slim" in (built / "Dockerfile").read_text()
    assert LOCAL_DOCKERFILE.format(python="3.12", requirements="").startswith(
        "ARG BASE_IMAGE=python:3.12-slim\nFROM ${BASE_IMAGE}\n")
    asked = []

    def record(build_dir, tag, *, base_image=None, **_):
        asked.append(base_image)
        raise engine.PortapackError("recorded")

    monkeypatch.setattr(engine, "build_image", record)
    for base in (None, "registry.example/py:3.11"):
        with pytest.raises(engine.PortapackError):
            RunpodServerRuntime(built, project=project, base_image=base).start()
    assert asked == [None, "registry.example/py:3.11"]  # None: the Dockerfile's python:3.11-slim


def test_portapack_test_passes_base_image_to_a_server_projects_images(tmp_path):
    from click.testing import CliRunner
    from dockerenv import engine_with_base

    from portapack.cli import main

    engine_with_base()
    result = CliRunner().invoke(main, ["test", "--spec", str(TINY), "-t", "runpod", "--out",
                                       str(tmp_path / "out"), "--base-image", "no-such/base:0"])
    assert result.exit_code == 1, result.output
    assert "no-such/base" in result.output and "pass --base-image" in result.output
