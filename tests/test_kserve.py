"""The KServe target: every generated InferenceService against KServe's CRD (strict), the
mapping from the spec, the notes, and the artifacts under KServe's real model server.

The model server runs in the artifact's own env (kserve from its requirements.txt); with a
Docker engine, ``portapack test --image`` also runs the image (tests/test_images.py style)."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
import yaml
from kserve_crd import crd_errors, require_crd

import portapack
from portapack.proof.runtimes import get_runtime
from portapack.proof.testing import same
from portapack.spec.files import with_example_files
from portapack.targets import get_target

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = sorted(p.name for p in (ROOT / "examples").iterdir() if (p / "portapack.yaml").is_file())


def spec_variant(tmp_path: Path, example: str, **changes) -> Path:
    proj = tmp_path / example
    shutil.copytree(ROOT / "examples" / example, proj, ignore=shutil.ignore_patterns("build"))
    data = yaml.safe_load((proj / "portapack.yaml").read_text())
    for key, value in changes.items():
        data[key] = value if not isinstance(value, dict) else {**data.get(key, {}), **value}
    (proj / "portapack.yaml").write_text(yaml.safe_dump(data, sort_keys=False))
    return proj


def manifest_of(built) -> dict:
    return yaml.safe_load((built.path / "inferenceservice.yaml").read_text())


@pytest.fixture(scope="module")
def builds(tmp_path_factory):
    out = tmp_path_factory.mktemp("kserve")
    return {ex: portapack.build(ROOT / "examples" / ex, ["kserve"], out / ex)["kserve"]
            for ex in EXAMPLES}


# -- the manifest against KServe's CRD ----------------------------------------------------------
@pytest.mark.parametrize("example", EXAMPLES)
def test_every_example_manifest_is_a_valid_inferenceservice(builds, example):
    require_crd()
    assert crd_errors(manifest_of(builds[example])) == []


@pytest.mark.parametrize("mode", ["Knative", "Standard", "Serverless", "RawDeployment"])
@pytest.mark.parametrize("example", ["text-stats", "vllm-chat", "tiny-llm"])
def test_each_mode_is_valid_and_written_with_its_current_name(tmp_path, example, mode):
    require_crd()
    proj = spec_variant(tmp_path, example, targets={"kserve": {"deployment_mode": mode,
                                                                "service_account": "models"}})
    built = portapack.build(proj, ["kserve"], tmp_path / "out")["kserve"]
    manifest = manifest_of(built)
    assert crd_errors(manifest) == []
    current = {"Serverless": "Knative", "RawDeployment": "Standard"}.get(mode, mode)
    assert manifest["metadata"]["annotations"]["serving.kserve.io/deploymentMode"] == current
    notes = [str(n) for n in built.notes]
    assert any(f"written as {current}" in n for n in notes) == (mode != current)


def test_a_misspelt_field_fails_the_strict_schema(builds):
    require_crd()
    manifest = manifest_of(builds["text-stats"])
    manifest["spec"]["predictor"]["minReplica"] = manifest["spec"]["predictor"].pop("minReplicas")
    manifest["spec"]["predictor"]["containers"][0]["resources"]["limits"]["memory"] = "1 GB"
    errors = crd_errors(manifest)
    assert any("'minReplica' was unexpected" in e for e in errors), errors
    assert any("resources/limits/memory" in e for e in errors), errors


def test_the_mapping_from_the_spec(builds):
    predictor = manifest_of(builds["text-stats"])["spec"]["predictor"]
    assert predictor["minReplicas"] == 0 and predictor["maxReplicas"] == 2
    assert predictor["containerConcurrency"] == 1 and predictor["scaleMetric"] == "concurrency"
    assert predictor["timeout"] == 60
    assert predictor["annotations"] == {
        "autoscaling.knative.dev/scale-to-zero-pod-retention-period": "120s"}
    container = predictor["containers"][0]
    assert container["name"] == "kserve-container"
    assert container["resources"] == {"requests": {"cpu": "1", "memory": "1Gi"},
                                      "limits": {"cpu": "1", "memory": "1Gi"}}
    assert container["env"] == [{"name": "LOG_LEVEL", "value": "info"}]
    assert container["readinessProbe"]["httpGet"] == {"path": "/v1/models/text-stats", "port": 8080}
    assert container["ports"] == [{"containerPort": 8080, "protocol": "TCP"}]


def test_gpu_secrets_and_weights_map_to_kubernetes_fields(builds):
    predictor = manifest_of(builds["vllm-chat"])["spec"]["predictor"]
    assert predictor["nodeSelector"] == {"nvidia.com/gpu.product": "NVIDIA-A100-SXM4-80GB"}
    assert predictor["storageUris"] == [{
        "uri": "hf://Qwen/Qwen2.5-7B-Instruct:a09a35458c702b33eeacc393d103063234e8bc28",
        "mountPath": "/weights/model"}]
    container = predictor["containers"][0]
    assert container["resources"]["limits"]["nvidia.com/gpu"] == 1
    assert container["env"] == [{"name": "HF_TOKEN", "valueFrom": {
        "secretKeyRef": {"name": "vllm-chat", "key": "HF_TOKEN"}}}]
    assert container["ports"] == [{"containerPort": 8000, "protocol": "TCP"}]
    assert container["startupProbe"]["httpGet"] == {"path": "/health", "port": 8000}
    assert container["startupProbe"]["failureThreshold"] * 10 >= 900
    assert "command" not in container  # the image's CMD runs the server


def test_gpu_label_and_secret_name_are_options(tmp_path):
    proj = spec_variant(tmp_path, "vllm-chat", targets={"kserve": {
        "gpu_label": "cloud.google.com/gke-accelerator", "gpu_product": "nvidia-a100-80gb",
        "secret_name": "llm-keys"}})
    predictor = manifest_of(portapack.build(proj, ["kserve"], tmp_path / "o")["kserve"])["spec"]["predictor"]
    assert predictor["nodeSelector"] == {"cloud.google.com/gke-accelerator": "nvidia-a100-80gb"}
    assert predictor["containers"][0]["env"][0]["valueFrom"]["secretKeyRef"]["name"] == "llm-keys"


def test_standard_mode_keeps_one_replica_and_says_so(tmp_path):
    proj = spec_variant(tmp_path, "text-stats", targets={"kserve": {"deployment_mode": "Standard"}})
    built = portapack.build(proj, ["kserve"], tmp_path / "o")["kserve"]
    predictor = manifest_of(built)["spec"]["predictor"]
    assert predictor["minReplicas"] == 1
    assert "containerConcurrency" not in predictor and "scaleMetric" not in predictor
    notes = "\n".join(str(n) for n in built.notes)
    assert "minReplicas is 1, no scale to zero" in notes
    assert "scaling.idle_timeout: not expressible in Standard mode" in notes
    with pytest.raises(portapack.BuildError):
        portapack.build(proj, ["kserve"], tmp_path / "strict", strict=True)


def test_download_paths_without_a_common_parent_are_refused(tmp_path):
    proj = spec_variant(tmp_path, "vllm-chat", weights=[
        {"source": "s3://bucket/a", "path": "/a"}, {"source": "gs://bucket/b", "path": "/b"}])
    with pytest.raises(portapack.SpecError, match="share a parent folder other than /"):
        portapack.build(proj, ["kserve"], tmp_path / "o")


def test_hardware_for_cost_is_the_canonical_gpu():
    vllm = get_target("kserve").for_project(portapack.load_project(ROOT / "examples" / "vllm-chat"))
    hardware = vllm.hardware_for(portapack.load_project(ROOT / "examples" / "vllm-chat"))
    assert (hardware.price_key, hardware.gpu_count, hardware.cpu_cores) == ("A100-80GB", 1, 8)
    cpu = get_target("kserve").hardware_for(portapack.load_project(ROOT / "examples" / "text-stats"))
    assert (cpu.price_key, cpu.gpu_count, cpu.memory_gib) == ("cpu", 0, 1.0)


def test_the_core_has_no_special_case_for_kserve():
    """Outside targets/kserve, only the registry's BUILTIN line names it."""
    hits = []
    for path in (ROOT / "portapack").rglob("*.py"):
        if "targets/kserve" in path.as_posix():
            continue
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if re.search("kserve", line, re.I):
                hits.append(f"{path.relative_to(ROOT)}:{n}: {line.strip()}")
    assert hits == ['portapack/targets/__init__.py:33: "kserve": "portapack.targets.kserve:KserveTarget",']


# -- KServe's model server, for real ------------------------------------------------------------
BAD = {"text-stats": ({"text": "hi", "top_k": 99}, "top_k"),
       "token-stream": ({"prompt": "go", "max_tokens": 0}, "max_tokens")}


@pytest.mark.parametrize("example", ["text-stats", "token-stream", "image-filter"])
def test_kserve_model_server_answers_each_example_and_refuses_a_bad_one(builds, example):
    project = with_example_files(portapack.load_project(ROOT / "examples" / example))
    streaming = project.predictor.streaming
    with get_runtime("kserve", builds[example].path, project=project) as runtime:
        for case in project.spec.examples:
            outcome = runtime.stream(case.input) if streaming else runtime.predict(case.input)
            assert outcome.ok, outcome.error
            if case.output is not None:
                assert same(case.output, outcome.output, None), outcome.output
        if example in BAD:
            request, name = BAD[example]
            bad = runtime.predict(request)
            assert not bad.ok and bad.status == 400 and f"input '{name}'" in bad.error
        if not streaming:  # the v1 envelope itself, and KServe's bytes for other content types
            from portapack.proof.runtimes.base import http_json

            status, body = http_json("POST", runtime.predict_url, {"text": "no envelope"})
            assert status == 400 and "instances" in body["error"]
            two = {"instances": [project.spec.examples[0].input, project.spec.examples[0].input]}
            status, body = http_json("POST", runtime.predict_url, two,
                                     headers={"Content-Type": "application/json; charset=utf-8"})
            assert status == 200 and len(body["predictions"]) == 2


@pytest.mark.docker
@pytest.mark.parametrize("example", ["token-stream", "image-filter", "numpy-linear"])
def test_portapack_test_with_image_runs_the_predictor_image(tmp_path, monkeypatch, example):
    """The image's own ENTRYPOINT/CMD (KServe's model server on 8080) in the real engine;
    numpy-linear's weight is one file, copied into the image at its path as the file itself."""
    import json

    from click.testing import CliRunner
    from dockerenv import BASE, engine_with_base

    from portapack.cli import main

    engine_with_base()
    monkeypatch.chdir(ROOT / "examples" / example)
    result = CliRunner().invoke(main, ["test", "--target", "kserve", "--image", "--base-image",
                                       BASE, "--out", str(tmp_path / "b"), "--json"])
    assert result.exit_code == 0, result.output
    rows = [r for r in json.loads(result.output)["results"] if r["target"] == "kserve-image"]
    assert {"example 1", "invalid", "after invalid"} <= {r["case"] for r in rows}
    assert all(r["ok"] for r in rows), rows


def test_a_name_starting_with_a_digit_is_refused(tmp_path):
    proj = spec_variant(tmp_path, "text-stats", name="1-stats")
    with pytest.raises(portapack.SpecError, match="InferenceService name starts with a letter"):
        portapack.build(proj, ["kserve"], tmp_path / "o")
