"""``portapack deploy --target runpod`` on RunPod's REST API v2.

The API is tests/runpod_standin.py: every body is validated against RunPod's OpenAPI
document, and each test asserts the stand-in refused nothing. The image is built on the real
Docker engine and pushed to the real loopback registry in the ``docker`` tests (skipped,
saying why, without an engine; failed under PORTAPACK_REQUIRE_DOCKER=1); elsewhere the two
image steps are recorded instead, so the API semantics always run.
"""

from __future__ import annotations

import json
import shutil
import socket
from pathlib import Path

import pytest
import test_deploy
import yaml
from runpod_standin import DEFAULT_GPUS, RunpodV2StandIn, schema_errors
from test_deploy import (
    _REAL_DOCKER_CLIENT,
    BASE,
    NAMESPACE,
    REGISTRY,
    RUNPOD_KEY,
    SECRET,
    Rig,
    files_containing,
    local_docker,
    registry_tags,
)

import portapack
import portapack.proof.engine
import portapack.targets.runpod.deployer as runpod_deploy
from portapack.building.builder import project_digest, read_marker
from portapack.deploying import DeployError, PreflightError
from portapack.deploying.base import ApiClient
from portapack.targets.runpod.deployer import fetch_gpu_catalog, image_tag
from portapack.targets.runpod.target import fallback_card_pools, select_gpu, vcpu_count

# The deploy fixtures (rig, the stand-ins, docker_env, ...) are test_deploy's, whatever they
# grow to need: every fixture defined there is registered here too.
globals().update({k: v for k, v in vars(test_deploy).items()
                  if hasattr(v, "_pytestfixturefunction") or type(v).__name__ == "FixtureFunctionDefinition"})

AMPERE_24 = ["NVIDIA GeForce RTX 3090", "NVIDIA L4", "NVIDIA RTX A5000"]


def respec(rig: Rig, **changes) -> None:
    """Edit the rig's spec (``resources``/``targets`` replaced when given) and rebuild RunPod."""
    spec_file = rig.proj / "portapack.yaml"
    data = yaml.safe_load(spec_file.read_text())
    data.update(changes)
    spec_file.write_text(yaml.safe_dump(data, sort_keys=False))
    portapack.build(rig.proj, ["runpod"], rig.out)


def as_cpu(rig: Rig, cpu: float = 3) -> None:
    respec(rig, resources={"cpu": cpu})


def image_for(rig: Rig, base: str | None = BASE) -> str:
    project = portapack.load_project(rig.proj, exclude=(rig.out,))
    return f"{REGISTRY}/{rig.name}:{image_tag(project_digest(project), base)}"


def expected_body(rig: Rig, image: str, compute: dict) -> dict:
    return {"name": rig.name, "type": "QUEUE", "image": image, **compute,
            "workers": {"min": 0, "max": 2, "idleTimeout": 120},
            "scaling": {"type": "QUEUE_DELAY", "queueDelay": 4}, "timeout": 60000,
            "flashboot": "FLASHBOOT", "disk": 20,
            "env": {"LOG_LEVEL": "info", "HF_TOKEN": "{{ RUNPOD_SECRET_HF_TOKEN }}"}}


GPU = {"gpu": {"pools": ["AMPERE_24"], "count": 1}}  # the rig's A10G: the whole 24 GB pool
CPU = {"cpu": [{"id": "cpu5c", "vcpuCount": 4}]}  # resources.cpu 3, rounded up


def check_requests(api: RunpodV2StandIn, body: dict, *, first: bool) -> None:
    assert api.refused == [], [(r.path, r.answer) for r in api.refused]
    for r in api.requests:
        assert r.headers["authorization"] == f"Bearer {RUNPOD_KEY}"
        if r.body is not None:
            assert r.headers["content-type"] == "application/json"
    reqs = [(r.method, r.path, r.body) for r in api.requests]
    last = ("POST", "/v2/serverless", body) if first else (
        "PATCH", "/v2/serverless/ep1x", {k: v for k, v in body.items() if k != "type"})
    assert reqs == [("GET", "/v2/catalog/gpus", None), ("GET", "/v2/serverless", None), last]
    assert list(api.endpoints) == ["ep1x"]  # never a second endpoint
    stored = api.endpoints["ep1x"]
    assert stored["image"] == body["image"] and stored["env"] == body["env"]
    assert schema_errors("#/components/schemas/Endpoint", stored) == []


def check_result(result, rig: Rig) -> None:
    assert result.target == "runpod" and result.name == rig.name
    assert result.endpoint_id == "ep1x"
    assert result.url == "https://api.runpod.ai/v2/ep1x/runsync"
    assert result.sample_request == (
        "curl -s https://api.runpod.ai/v2/ep1x/runsync -H 'Authorization: Bearer "
        "$RUNPOD_API_KEY' -H 'Content-Type: application/json' "
        "-d '{\"input\": {\"text\": \"I love it, love it!\"}}'")
    assert result.steps_done == ["build image", "push image", "create or update endpoint"]


@pytest.fixture
def recorded_images(rig, monkeypatch) -> list[tuple]:
    """The build and push steps recorded, not run (the docker tests run them for real)."""
    images: list[tuple] = []
    monkeypatch.setattr(portapack.proof.engine, "build_image", lambda path, tag, **kw: images.append(
        ("build", Path(path), tag, kw["base_image"])))
    monkeypatch.setattr(runpod_deploy, "push_image", lambda tag, say: images.append(("push", tag)))
    return images


# == the plan (no network) ==========================================================================
def test_dry_run_json_shows_pools_cards_and_the_v2_settings(rig, no_network):
    image = image_for(rig, None)  # no --base-image given
    result = rig.cli("--target", "runpod", "--dry-run", "--json", "--registry", REGISTRY)
    assert result.exit_code == 0, result.output
    plan = json.loads(result.output)["plan"]
    assert plan["problems"] == [] and plan["secrets"] == ["HF_TOKEN"]
    assert plan["settings"].pop("price").startswith("AMPERE_24 (24 GB) at $0.68/GPU-hour")
    assert plan["settings"] == {
        "type": "QUEUE", "gpu": {"pools": ["AMPERE_24"], "count": 1}, "cards allowed": AMPERE_24,
        "gpu map": "build-time table", "workers": {"min": 0, "max": 2, "idleTimeout": 120},
        "scaling": {"type": "QUEUE_DELAY", "queueDelay": 4}, "timeout": 60000,
        "flashboot": "FLASHBOOT", "image": image, "api": rig.runpod_api.url}
    assert plan["steps"] == [
        {"action": "build image", "tag": image, "context": str(rig.out / "runpod")},
        {"action": "push image", "image": image},
        {"action": "create or update endpoint", "name": rig.name, "env": ["HF_TOKEN", "LOG_LEVEL"]},
    ]
    assert SECRET not in result.output and RUNPOD_KEY not in result.output
    assert rig.runpod_api.requests == []


def test_unbuilt_dry_run_shows_the_tag_the_build_will_have(rig, no_network):
    built = rig.deploy("runpod", dry_run=True).to_json()
    digest = read_marker(rig.out / "runpod")["digest"]
    assert built["settings"]["image"].endswith(":" + image_tag(digest, BASE))
    shutil.rmtree(rig.out / "runpod")
    planned = rig.deploy("runpod", dry_run=True).to_json()
    assert planned["steps"][0]["action"] == "build"
    assert planned["steps"][1:] == built["steps"] and planned["settings"] == built["settings"]


def test_dry_run_text_names_a_missing_key(rig, no_network):
    respec(rig, targets={"runpod": {"registry": REGISTRY, "gpu_type_ids": ["NVIDIA L4"]}})
    rig.mp.delenv("RUNPOD_API_KEY")
    result = rig.cli("--target", "runpod", "--dry-run")
    assert result.exit_code == 1, result.output
    assert "gpu: {'pools': ['AMPERE_24'], 'count': 1, 'excludedTypes': ['NVIDIA GeForce RTX 3090', " \
           "'NVIDIA RTX A5000']}" in result.output
    assert "cards allowed: ['NVIDIA L4']" in result.output
    assert "  3. create or update endpoint (name=" in result.output
    assert "preflight would fail: RUNPOD_API_KEY is not set" in result.output
    assert "Traceback" not in result.output


# == GPU pools =======================================================================================
def test_pinning_a_card_excludes_the_rest_of_its_pool(rig, recorded_images):
    respec(rig, targets={"runpod": {"gpu_type_ids": ["NVIDIA L4"], "flashboot": "PRIORITY_FLASHBOOT"}})
    rig.deploy("runpod")
    api = rig.runpod_api
    assert api.refused == []
    posted = api.writes()[-1][2]
    assert posted["gpu"] == {"pools": ["AMPERE_24"], "count": 1,
                             "excludedTypes": ["NVIDIA GeForce RTX 3090", "NVIDIA RTX A5000"]}
    assert posted["flashboot"] == "PRIORITY_FLASHBOOT"


def test_live_catalog_wins_over_the_build_time_table(tmp_path, monkeypatch, rig, recorded_images):
    """RunPod's docs disagree on L4's pool; at deploy time the live catalog decides."""
    moved = [dict(g, pool="ADA_24") if g["id"] == "NVIDIA L4" else g for g in DEFAULT_GPUS]
    with RunpodV2StandIn(RUNPOD_KEY, gpus=moved) as live:
        monkeypatch.setenv("PORTAPACK_RUNPOD_API_URL", live.url)
        respec(rig, resources={"gpu": "L4:2"}, targets={"runpod": {"gpu_type_ids": ["NVIDIA L4"]}})
        planned = rig.deploy("runpod", dry_run=True)
        assert planned.settings["gpu"]["pools"] == ["AMPERE_24"]  # the fallback table
        rig.deploy("runpod")
        assert live.refused == []
        posted = live.writes()[-1][2]
        assert posted["gpu"] == {"pools": ["ADA_24"], "count": 2,
                                 "excludedTypes": ["NVIDIA GeForce RTX 4090"]}


def test_gpu_mapping_units():
    table = fallback_card_pools()
    from portapack.spec.gpu import parse_gpu

    t4 = select_gpu(parse_gpu("T4"), None, table)  # no T4 on RunPod: the 16 GB pool
    assert t4.pools == ["AMPERE_16"] and t4.excluded == []
    h100 = select_gpu(parse_gpu("H100:2"), None, table)
    assert h100.body() == {"pools": ["ADA_80_PRO"], "count": 2}
    two = select_gpu(parse_gpu("L40S"), ["NVIDIA L40S", "NVIDIA A40"], table)
    assert two.pools == ["ADA_48_PRO", "AMPERE_48"] and two.allowed == ["NVIDIA A40", "NVIDIA L40S"]
    with pytest.raises(ValueError, match="NVIDIA T4 is in no RunPod serverless pool"):
        select_gpu(parse_gpu("T4"), ["NVIDIA T4"], table)
    assert [vcpu_count(c) for c in (0.5, 1, 2, 3, 5, 64)] == [2, 2, 2, 4, 8, 32]


def test_fetch_gpu_catalog_is_the_gpus_list(runpod_api):
    gpus = fetch_gpu_catalog(runpod_api.url, RUNPOD_KEY)
    assert gpus == DEFAULT_GPUS and runpod_api.refused == []


# == create, then update ==============================================================================
@pytest.mark.parametrize("compute", ["gpu", "cpu"])
def test_create_then_update_without_docker(rig, recorded_images, compute):
    if compute == "cpu":
        as_cpu(rig)
    image = image_for(rig)
    body = expected_body(rig, image, GPU if compute == "gpu" else CPU)
    check_result(rig.deploy("runpod"), rig)
    assert recorded_images == [("build", rig.out / "runpod", image, BASE), ("push", image)]
    check_requests(rig.runpod_api, body, first=True)
    rig.runpod_api.requests.clear()
    check_result(rig.deploy("runpod"), rig)
    check_requests(rig.runpod_api, body, first=False)


def test_cpu_rounding_is_noted(tmp_path, rig):
    as_cpu(rig, 3)
    project = portapack.load_project(rig.proj, exclude=(rig.out,))
    from portapack.targets.runpod.target import RunpodTarget

    notes = [str(n) for n in RunpodTarget().notes(project)]
    assert "resources.cpu: 3 CPU becomes 4 vCPUs: RunPod CPU workers take a power of two from 2 " \
           "to 32" in notes


def test_a_new_image_reaches_the_existing_endpoint(rig, recorded_images):
    rig.deploy("runpod")
    first = rig.runpod_api.endpoints["ep1x"]["image"]
    predictor = rig.proj / "predict.py"
    predictor.write_text(predictor.read_text() + "\n# edited\n")
    rig.deploy("runpod", rebuild=True)
    assert rig.runpod_api.endpoints["ep1x"]["image"] == image_for(rig) != first
    assert list(rig.runpod_api.endpoints) == ["ep1x"] and rig.runpod_api.refused == []


def test_changing_gpu_to_cpu_is_refused_with_the_fix(rig, recorded_images):
    rig.deploy("runpod")
    as_cpu(rig)
    with pytest.raises(DeployError, match="cannot change an endpoint's compute family"):
        rig.deploy("runpod")
    assert rig.runpod_api.refused == []


# == errors ==========================================================================================
def test_a_wrong_key_fails_preflight_before_anything_is_built(rig, recorded_images):
    rig.mp.setenv("RUNPOD_API_KEY", "wrong-key")
    with pytest.raises(PreflightError) as info:
        rig.deploy("runpod")
    assert str(info.value) == (
        "runpod: RUNPOD_API_KEY was refused by RunPod's API (GET /catalog/gpus answered 401): "
        "create a new key in RunPod's console (Settings > API Keys) and export it")
    assert recorded_images == []
    assert rig.runpod_api.calls() == [("GET", "/v2/catalog/gpus")]


def test_an_unreachable_api_fails_preflight_naming_runpod(rig, recorded_images):
    with socket.socket() as s:  # a port nothing listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    url = f"http://127.0.0.1:{port}/v2"
    rig.mp.setenv("PORTAPACK_RUNPOD_API_URL", url)
    result = rig.cli("--target", "runpod", "--registry", REGISTRY)
    assert result.exit_code == 1
    assert f"RunPod's API at {url} cannot be reached" in result.output
    assert "Traceback" not in result.output and recorded_images == []


def test_rfc9457_problem_shown_by_the_cli_without_traceback(rig, recorded_images):
    rig.runpod_api.failures[("POST", "/serverless")] = (422, {
        "title": "Unprocessable Entity", "status": 422, "detail": "Request validation failed.",
        "errors": ["gpu.pools: no capacity in AMPERE_24", "workers.max: exceeds your quota of 1"]})
    result = rig.cli("--target", "runpod", "--registry", REGISTRY)
    assert result.exit_code == 1
    assert "Traceback" not in result.output
    assert ("create or update endpoint failed: POST /serverless answered 422: Unprocessable "
            "Entity Request validation failed.\n"
            "  - gpu.pools: no capacity in AMPERE_24\n"
            "  - workers.max: exceeds your quota of 1\n") in result.output
    assert "  done: push image" in result.output
    assert "  not done: create or update endpoint" in result.output


def test_api_client_explains_problems_and_other_bodies():
    explain = ApiClient.explain
    assert explain({"title": "Not Found", "status": 404, "detail": "Endpoint x not found."}) == (
        ": Not Found Endpoint x not found.")
    assert explain({"error": "boom"}) == ': {"error": "boom"}'
    assert explain(None) == ""


def test_a_failed_step_says_what_was_done_and_a_retry_recovers(rig, recorded_images):
    rig.runpod_api.failures[("POST", "/serverless")] = (500, {
        "title": "Internal Server Error", "status": 500, "detail": "try again"})
    with pytest.raises(DeployError) as info:
        rig.deploy("runpod")
    assert str(info.value).splitlines() == [
        "create or update endpoint failed: POST /serverless answered 500: Internal Server Error "
        "try again",
        "  done: build image", "  done: push image", "  not done: create or update endpoint"]
    rig.runpod_api.failures.clear()
    rig.deploy("runpod")
    assert list(rig.runpod_api.endpoints) == ["ep1x"] and rig.runpod_api.refused == []


# == real engine, real registry =======================================================================
@pytest.fixture
def real_rig(rig, docker_env, pushed_names):
    rig.mp.setattr(portapack.proof.engine, "docker_client", _REAL_DOCKER_CLIENT)
    pushed_names.append(rig.name)
    return rig


@pytest.mark.docker
@pytest.mark.parametrize("compute", ["gpu", "cpu"])
def test_end_to_end_builds_pushes_creates_then_updates(real_rig, compute):
    rig = real_rig
    if compute == "cpu":
        as_cpu(rig)
    image = image_for(rig)
    tag = image.rpartition(":")[2]
    body = expected_body(rig, image, GPU if compute == "gpu" else CPU)
    assert registry_tags(rig.name)[0] == 404

    check_result(rig.deploy("runpod"), rig)
    check_requests(rig.runpod_api, body, first=True)
    status, tags = registry_tags(rig.name)
    assert status == 200 and tags == {"name": f"{NAMESPACE}/{rig.name}", "tags": [tag]}
    assert SECRET not in json.dumps(local_docker().images.get(image).attrs)
    progress = "\n".join(rig.progress)
    assert progress.index("build image...") < progress.index("[builder") < progress.index(
        "push image...") < progress.index("create or update endpoint...")
    assert "created endpoint ep1x" in progress

    rig.runpod_api.requests.clear()
    rig.progress.clear()
    check_result(rig.deploy("runpod"), rig)  # again: an update, never a second endpoint
    check_requests(rig.runpod_api, body, first=False)
    assert "updated endpoint ep1x" in rig.progress
    assert registry_tags(rig.name)[1]["tags"] == [tag]


@pytest.mark.docker
def test_cli_deploy_prints_the_endpoint_and_never_the_secret(real_rig):
    rig = real_rig
    result = rig.cli("--target", "runpod", "--registry", REGISTRY, "--base-image", BASE, "--build")
    assert result.exit_code == 0, result.output
    out = result.output
    assert f"deployed {rig.name} to runpod" in out and "  id:  ep1x" in out
    assert "  url: https://api.runpod.ai/v2/ep1x/runsync" in out
    assert SECRET not in out and RUNPOD_KEY not in out
    assert files_containing(rig.out, SECRET) == [] and rig.runpod_api.leaks(SECRET) == []
    assert rig.runpod_api.refused == []
    image = local_docker().images.get(image_for(rig))
    assert SECRET not in json.dumps(image.attrs) + json.dumps(image.history())


# == server: projects: a load-balancing endpoint ======================================================
def as_server(rig: Rig) -> None:
    """The rig's project replaced by examples/tiny-llm (renamed, HF_TOKEN secret), built."""
    shutil.rmtree(rig.proj)
    shutil.copytree(Path(portapack.__file__).parent.parent / "examples" / "tiny-llm", rig.proj)
    spec_file = rig.proj / "portapack.yaml"
    data = yaml.safe_load(spec_file.read_text())
    data["name"], data["secrets"] = rig.name, ["HF_TOKEN"]
    spec_file.write_text(yaml.safe_dump(data, sort_keys=False))
    portapack.build(rig.proj, ["runpod"], rig.out)


def test_server_project_creates_then_updates_a_load_balancer(rig, recorded_images):
    as_server(rig)
    image = image_for(rig)
    body = {"name": rig.name, "type": "LOAD_BALANCER", "image": image,
            "cpu": [{"id": "cpu5c", "vcpuCount": 2}],
            "workers": {"min": 0, "max": 2, "idleTimeout": 300},
            "scaling": {"type": "REQUEST_COUNT", "requestCount": 8},
            "timeout": 600000, "flashboot": "FLASHBOOT", "disk": 20,
            "env": {"PORT": "9471", "PORT_HEALTH": "9472",
                    "HF_TOKEN": "{{ RUNPOD_SECRET_HF_TOKEN }}"},
            "ports": ["9471/http", "9472/http"]}
    sample = ("curl -s https://ep1x.api.runpod.ai/v1/chat/completions -H 'Authorization: Bearer "
              "$RUNPOD_API_KEY' -H 'Content-Type: application/json' -d '{\"model\": \"chat\", "
              "\"messages\": [{\"role\": \"user\", \"content\": \"hello big world\"}], "
              "\"max_tokens\": 8}'")
    for first in (True, False):
        result = rig.deploy("runpod")
        check_requests(rig.runpod_api, body, first=first)
        assert result.endpoint_id == "ep1x"
        assert result.url == "https://ep1x.api.runpod.ai/v1/chat/completions"
        assert result.sample_request == sample
        stored = rig.runpod_api.endpoints["ep1x"]
        assert stored["type"] == "LOAD_BALANCER" and stored["ports"] == body["ports"]
        assert stored["scaling"] == {"type": "REQUEST_COUNT", "requestCount": 8}
        rig.runpod_api.requests.clear()
    assert recorded_images == [("build", rig.out / "runpod", image, BASE), ("push", image)] * 2


def test_cli_prints_the_load_balancer_route(rig, recorded_images):
    as_server(rig)
    result = rig.cli("--target", "runpod", "--registry", REGISTRY, "--base-image", BASE)
    assert result.exit_code == 0, result.output
    assert "https://ep1x.api.runpod.ai/v1/chat/completions" in result.output
    assert rig.runpod_api.refused == [] and "Traceback" not in result.output


def test_deploy_records_what_portapack_call_needs(rig, recorded_images, monkeypatch):
    """deploy writes out/.portapack-deploy/runpod.json; Client.from_deploy calls that endpoint
    on RunPod's job API (a stand-in) with no further flags."""
    from calling_standins import RunpodStandIn

    from portapack.calling import Client
    from portapack.deploying.record import read_record

    rig.deploy("runpod")
    record = read_record(rig.out, "runpod")
    assert (record["endpoint_id"], record["server"]) == ("ep1x", False)
    assert RUNPOD_KEY not in json.dumps(record)
    with RunpodStandIn(endpoint="ep1x", token=RUNPOD_KEY) as jobs:
        monkeypatch.setenv("PORTAPACK_RUNPOD_JOB_URL", jobs.url + "/v2")
        client = Client.from_deploy(rig.proj, "runpod", out=rig.out, wait=2)
        assert client.predict(text="I love it")["echo"] == "I love it"
    assert [r.path for r in jobs.requests] == ["/v2/ep1x/runsync"]
