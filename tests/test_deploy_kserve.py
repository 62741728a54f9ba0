"""``portapack deploy --target kserve`` against tests/kube_standin.py, a stand-in Kubernetes
API server on loopback that validates every applied body against KServe's CRD (strict) and
answers as the API server does. The image steps are recorded (the image itself is proved by
``portapack test --image``); the test checks the exact requests sent."""

from __future__ import annotations

import shutil
import socket
import time
import uuid
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner
from kserve_crd import require_crd
from kube_standin import KubeStandIn

import portapack
import portapack.proof.engine
import portapack.targets.kserve.deployer as kserve_deployer
from portapack.cli import main
from portapack.deploying import DeployError, DeployOptions, PreflightError

ROOT = Path(__file__).resolve().parent.parent
REGISTRY = "127.0.0.1:5005/portapack-test"
TOKEN = "kube-token-7c1e"
APPLY = "application/apply-patch+yaml"


class Engine:
    def ping(self) -> bool:
        return True


class Rig:
    def __init__(self, tmp_path: Path, monkeypatch, kube: KubeStandIn):
        self.kube, self.tmp = kube, tmp_path
        self.name = f"pp-{uuid.uuid4().hex[:8]}"
        self.proj = tmp_path / "proj"
        shutil.copytree(ROOT / "examples" / "text-stats", self.proj,
                        ignore=shutil.ignore_patterns("build"))
        spec = yaml.safe_load((self.proj / "portapack.yaml").read_text())
        spec |= {"name": self.name, "secrets": ["HF_TOKEN"]}
        (self.proj / "portapack.yaml").write_text(yaml.safe_dump(spec, sort_keys=False))
        self.out = tmp_path / "out"
        portapack.build(self.proj, ["kserve"], self.out)
        self.kubeconfig = kube.kubeconfig(tmp_path / "kubeconfig")
        monkeypatch.setenv("KUBECONFIG", str(self.kubeconfig))
        monkeypatch.setenv("HOME", str(tmp_path / "home"))
        self.images: list[tuple[str, str]] = []
        monkeypatch.setattr(portapack.proof.engine, "docker_client", lambda: Engine())
        monkeypatch.setattr(portapack.proof.engine, "build_image",
                            lambda path, tag, **kw: self.images.append(("build", tag)))
        monkeypatch.setattr(kserve_deployer, "push_image",
                            lambda image, say: self.images.append(("push", image)))
        monkeypatch.setattr(kserve_deployer.KserveDeployer, "poll_seconds", 0.01)
        self.progress: list[str] = []
        self.options = DeployOptions(registry=REGISTRY, progress=self.progress.append)

    def deploy(self, **kw):
        return portapack.deploy(self.proj, "kserve", self.out, options=self.options, **kw)

    def calls(self) -> list[tuple[str, str, dict]]:
        return [(r.method, r.path, r.query) for r in self.kube.requests]


@pytest.fixture
def kube():
    with KubeStandIn(token=TOKEN) as standin:
        yield standin


@pytest.fixture
def rig(tmp_path, monkeypatch, kube):
    require_crd()  # the stand-in validates bodies against the CRD
    return Rig(tmp_path, monkeypatch, kube)


def path(rig: Rig, name: str | None = None, ns: str = "team-a") -> str:
    base = f"/apis/serving.kserve.io/v1beta1/namespaces/{ns}/inferenceservices"
    return base + (f"/{name}" if name else "")


def test_deploy_applies_waits_for_ready_and_prints_the_url(rig):
    rig.kube.behaviour[rig.name] = "slow"
    result = rig.deploy()
    assert rig.kube.refused == []
    image = rig.images[0][1]
    assert rig.images == [("build", image), ("push", image)] and image.startswith(f"{REGISTRY}/{rig.name}:")
    apply_query = {"fieldManager": "portapack", "force": "true", "fieldValidation": "Strict"}
    assert rig.calls() == [
        ("GET", path(rig), {"limit": "1"}),                 # preflight: reachable, CRD, access
        ("PATCH", path(rig, rig.name), apply_query),         # server-side apply
        *[("GET", path(rig, rig.name), {})] * 4,             # slow Ready: 3 polls, then Ready
    ]
    applied = rig.kube.requests[1]
    assert applied.headers["content-type"] == APPLY
    assert applied.headers["authorization"] == f"Bearer {TOKEN}"
    container = applied.body["spec"]["predictor"]["containers"][0]
    assert container["image"] == image
    assert applied.body["metadata"]["namespace"] == "team-a"  # the context's namespace
    assert {"name": "HF_TOKEN", "valueFrom": {"secretKeyRef": {"name": rig.name, "key": "HF_TOKEN"}}} \
        in container["env"]
    assert result.url == f"http://{rig.name}.team-a.example.com"
    assert f"{result.url}/v1/models/{rig.name}:predict" in result.sample_request
    assert '{"instances": [{"text": ' in result.sample_request
    assert any("RevisionMissing" in line for line in rig.progress)


def test_a_second_deploy_updates_the_same_object(rig):
    rig.deploy()
    first = dict(rig.kube.objects[("team-a", rig.name)].obj["metadata"])
    spec = yaml.safe_load((rig.proj / "portapack.yaml").read_text())
    spec["scaling"]["max_replicas"] = 5
    (rig.proj / "portapack.yaml").write_text(yaml.safe_dump(spec, sort_keys=False))
    portapack.build(rig.proj, ["kserve"], rig.out)
    rig.deploy()
    assert rig.kube.refused == []
    assert list(rig.kube.objects) == [("team-a", rig.name)]  # updated, not duplicated
    stored = rig.kube.objects[("team-a", rig.name)].obj
    assert stored["metadata"]["uid"] == first["uid"]
    assert stored["metadata"]["generation"] == first["generation"] + 1
    assert stored["spec"]["predictor"]["maxReplicas"] == 5
    assert [r.method for r in rig.kube.requests].count("PATCH") == 2


def test_namespace_flag_wins_over_the_context(rig):
    rig.options.namespace = "prod"
    result = rig.deploy()
    assert ("PATCH", path(rig, rig.name, "prod")) in [(m, p) for m, p, _ in rig.calls()]
    assert result.endpoint_id == f"prod/{rig.name}"


def test_a_failed_revision_fails_the_deploy_with_the_reason_and_where_to_look(rig):
    rig.kube.behaviour[rig.name] = "failed"
    with pytest.raises(DeployError) as info:
        rig.deploy()
    message = str(info.value)
    assert "wait for Ready failed" in message and "RevisionFailed" in message
    assert "No module named 'torch'" in message
    assert f"logs -l serving.kserve.io/inferenceservice={rig.name} -c kserve-container" in message
    assert "done: apply InferenceService" in message


def test_the_api_server_refuses_a_body_the_crd_refuses(rig, monkeypatch):
    from portapack.targets.kserve import manifest

    original = manifest.inference_service

    def misspelt(*args, **kwargs):
        body = original(*args, **kwargs)
        body["spec"]["predictor"]["minReplica"] = body["spec"]["predictor"].pop("minReplicas")
        return body

    monkeypatch.setattr("portapack.targets.kserve.target.inference_service", misspelt)
    with pytest.raises(DeployError, match="'minReplica' was unexpected"):
        rig.deploy()
    assert rig.kube.refused and rig.kube.refused[0][0] == 422


def test_dry_run_prints_the_manifest_and_the_plan_and_sends_nothing(rig):
    runner = CliRunner()
    result = runner.invoke(main, ["deploy", "--spec", str(rig.proj), "--target", "kserve",
                                  "--out", str(rig.out), "--dry-run", "--registry", REGISTRY,
                                  "--namespace", "staging"])
    assert result.exit_code == 0, result.output
    assert rig.kube.requests == [] and rig.images == []
    assert "apiVersion: serving.kserve.io/v1beta1" in result.output
    assert "namespace: staging" in result.output
    for step in ("build image", "push image", "apply InferenceService", "wait for Ready"):
        assert step in result.output


def test_preflight_names_a_missing_kubeconfig(rig, monkeypatch):
    monkeypatch.setenv("KUBECONFIG", str(rig.tmp / "nope"))
    with pytest.raises(PreflightError, match="no kubeconfig at .*nope: set KUBECONFIG"):
        rig.deploy()
    assert rig.images == []


def test_preflight_names_an_unreachable_api_server_within_15_seconds(rig):
    hole = socket.socket()  # accepts connections, never answers
    hole.bind(("127.0.0.1", 0))
    hole.listen(8)
    config = yaml.safe_load(rig.kubeconfig.read_text())
    config["clusters"][0]["cluster"]["server"] = f"http://127.0.0.1:{hole.getsockname()[1]}"
    rig.kubeconfig.write_text(yaml.safe_dump(config))
    started = time.monotonic()
    try:
        with pytest.raises(PreflightError, match="cannot be reached"):
            rig.deploy()
    finally:
        hole.close()
    assert time.monotonic() - started < 15
    assert rig.images == []


@pytest.mark.parametrize(("change", "words"), [
    (lambda kube: setattr(kube, "token", "other"), "refused the kubeconfig's credentials (401"),
    (lambda kube: setattr(kube, "crd_installed", False), "KServe is not installed"),
])
def test_preflight_names_refused_credentials_and_a_cluster_without_kserve(rig, change, words):
    change(rig.kube)
    with pytest.raises(PreflightError) as info:
        rig.deploy()
    assert words in str(info.value)
    assert rig.images == [] and [r.method for r in rig.kube.requests] == ["GET"]


def test_a_server_project_deploys_its_engine_container(tmp_path, monkeypatch, kube):
    require_crd()
    rig = Rig(tmp_path, monkeypatch, kube)
    proj = tmp_path / "tiny"
    shutil.copytree(ROOT / "examples" / "tiny-llm", proj)
    portapack.build(proj, ["kserve"], rig.out)
    result = portapack.deploy(proj, "kserve", rig.out, options=rig.options)
    assert kube.refused == []
    container = kube.requests[1].body["spec"]["predictor"]["containers"][0]
    assert container["ports"] == [{"containerPort": 9471, "protocol": "TCP"}]
    assert container["readinessProbe"]["httpGet"] == {"path": "/health", "port": 9471}
    assert result.sample_request.startswith(
        "curl -s http://tiny-llm.team-a.example.com/v1/chat/completions ")


@pytest.mark.docker
def test_deploy_builds_and_pushes_the_image_to_the_registry(tmp_path, monkeypatch, kube):
    """The real engine and the loopback registry; the cluster is the stand-in."""
    from dockerenv import BASE, engine_with_base
    from test_deploy import registry_tags, registry_up

    require_crd()
    client = engine_with_base()
    if not registry_up():
        pytest.skip("no registry on 127.0.0.1:5005 (run .ci/docker-setup.sh as root)")
    rig = Rig(tmp_path, monkeypatch, kube)
    monkeypatch.setattr(portapack.proof.engine, "docker_client", lambda: client)
    monkeypatch.setattr(portapack.proof.engine, "build_image", BUILD_IMAGE)
    monkeypatch.setattr(kserve_deployer, "push_image", PUSH_IMAGE)
    rig.options.base_image = BASE
    try:
        rig.deploy()
        image = kube.requests[1].body["spec"]["predictor"]["containers"][0]["image"]
        status, body = registry_tags(rig.name)
        assert status == 200 and image.rpartition(":")[2] in body["tags"]
    finally:
        for found in client.images.list(name=f"{REGISTRY}/{rig.name}"):
            for tag in found.tags:
                client.images.remove(tag, force=True)


BUILD_IMAGE = portapack.proof.engine.build_image
PUSH_IMAGE = kserve_deployer.push_image
