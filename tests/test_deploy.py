"""``portapack deploy``: preflight, dry-run plan, apply, idempotency, secrets, Python API.

Nothing here talks to a real platform. Each platform is checked at its narrowest honest
boundary:

* RunPod: the image is built on the real Docker engine and pushed to the real registry on
  loopback (.ci/docker-setup.sh starts both); the REST calls go to tests/runpod_standin.py,
  which checks every body against RunPod's OpenAPI document (PORTAPACK_RUNPOD_API_URL); the
  RunPod deploy tests are in test_deploy_runpod.py. Without an engine, base image or registry those
  tests skip, saying why; with PORTAPACK_REQUIRE_DOCKER=1 they fail instead.
* Replicate: a stand-in for Replicate's HTTP API (PORTAPACK_REPLICATE_API_URL) and a fake
  ``cog`` executable first on PATH that records its argv and cwd.
* Baseten: ``truss.push`` monkeypatched; its arguments are bound to the real signature.
* Modal: ``subprocess.run`` inside portapack.targets.modal.deployer monkeypatched, plus one real
  subprocess run of the CLI without a token.

Every test runs with HF_TOKEN=sk-very-secret in the environment and a spec that declares
``secrets: [HF_TOKEN]``; the stand-ins fail the test if the value ever reaches them.
"""

from __future__ import annotations

import importlib.util
import inspect
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import jsonschema
import pytest
import yaml
from baseten_standin import BasetenApi
from click.testing import CliRunner
from dockerenv import BASE, engine_with_base, unavailable
from runpod_standin import RunpodV2StandIn
from vendor_docs import vendor_json

import portapack
import portapack.proof.engine
import portapack.targets.modal.deployer as modal_deploy
from portapack.cli import main
from portapack.deploying import (
    DeployError,
    DeployOptions,
    DeployResult,
    Plan,
    PreflightError,
    deploy,
    deployer_for,
)
from portapack.targets import TARGETS

ROOT = Path(__file__).resolve().parent.parent
REGISTRY_ADDR = os.environ.get("PORTAPACK_REGISTRY_ADDR", "127.0.0.1:5005")
NAMESPACE = "portapack-test"
REGISTRY = f"{REGISTRY_ADDR}/{NAMESPACE}"
SECRET = "sk-very-secret"
RUNPOD_KEY = "dummy-runpod-key-7f3a"
REPLICATE_TOKEN = "dummy-replicate-token-91c2"
BASETEN_KEY = "dummy-baseten-key"
OWNER = "acme"
_REAL_DOCKER_CLIENT = portapack.proof.engine.docker_client
_DOCKER_HOST = os.environ.get("DOCKER_HOST")
# Loopback must never go through a proxy (the stand-ins and the registry are local).
_DIRECT = urllib.request.build_opener(urllib.request.ProxyHandler({}))

CREDENTIAL_VARS = (
    "RUNPOD_API_KEY", "REPLICATE_API_TOKEN", "BASETEN_TRUSS_AUTH_API_KEY",
    "BASETEN_TRUSS_AUTH_REMOTE_URL", "MODAL_TOKEN_ID", "MODAL_TOKEN_SECRET", "MODAL_PROFILE",
    "PORTAPACK_RUNPOD_API_URL", "PORTAPACK_REPLICATE_API_URL",
)


# == stand-in HTTP servers ========================================================================
@dataclass
class Recorded:
    method: str
    path: str
    headers: dict[str, str]  # lower-cased names
    body: Any
    raw: bytes
    at: float = field(default_factory=time.time)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def _handle(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            body = raw.decode("utf-8", "replace")
        headers = {k.lower(): v for k, v in self.headers.items()}
        api: StandIn = self.server.api  # type: ignore[attr-defined]
        status, payload = api.handle(Recorded(self.command, self.path, headers, body, raw))
        data = b"" if payload is None else json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    do_GET = do_POST = do_PATCH = do_PUT = do_DELETE = _handle

    def log_message(self, *args: Any) -> None:
        pass


class StandIn:
    """A local HTTP server answering like a platform's REST API under /v1, recording every
    request (method, path, headers, JSON body)."""

    prefix = "/v1"

    def __init__(self, token: str):
        self.token = token
        self.requests: list[Recorded] = []
        self.failures: dict[tuple[str, str], tuple[int, Any]] = {}  # (method, path regex)
        self.lock = threading.Lock()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self.server.daemon_threads = True
        self.server.api = self  # type: ignore[attr-defined]
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.05,),
                                       daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}{self.prefix}"

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def handle(self, req: Recorded) -> tuple[int, Any]:
        with self.lock:
            self.requests.append(req)
            if req.headers.get("authorization") != f"Bearer {self.token}":
                return 401, {"error": "unauthorized"}
            if not req.path.startswith(self.prefix + "/"):
                return 404, {"error": f"no route {req.path}"}
            path = req.path[len(self.prefix):]
            for (method, pattern), answer in self.failures.items():
                if method == req.method and re.fullmatch(pattern, path):
                    return answer
            return self.route(req.method, path, req.body)

    def route(self, method: str, path: str, body: Any) -> tuple[int, Any]:
        raise NotImplementedError

    def calls(self) -> list[tuple[str, str]]:
        return [(r.method, r.path) for r in self.requests]

    def leaks(self, *values: str) -> list[str]:
        found = []
        for r in self.requests:
            text = r.raw.decode("utf-8", "replace") + r.path + json.dumps(
                {k: v for k, v in r.headers.items() if k != "authorization"})
            found += [f"{r.method} {r.path}: {v}" for v in values if v in text]
        return found


class ReplicateApi(StandIn):
    """Replicate's HTTP API: hardware, models (a version appears once the fake cog pushed)
    and deployments. Every request body is validated against Replicate's published OpenAPI
    document (replicate-openapi.json, https://api.replicate.com/openapi.json, read through
    tests/vendor_docs.py; Draft 2020-12 as OpenAPI 3.1 says); a body
    it refuses gets 422 and is kept in ``refused``, which the fixture asserts stays empty."""

    HARDWARE = [{"name": "CPU", "sku": "cpu"}, {"name": "Nvidia T4 GPU", "sku": "gpu-t4"},
                {"name": "Nvidia A40 (Large) GPU", "sku": "gpu-a40-large"},
                {"name": "Nvidia L40S GPU", "sku": "gpu-l40s"},
                {"name": "Nvidia A100 (80GB) GPU", "sku": "gpu-a100-large"}]
    BODIES = {("POST", r"/models"): "/models", ("POST", r"/deployments"): "/deployments",
              ("PATCH", r"/deployments/[^/]+/[^/]+"):
              "/deployments/{deployment_owner}/{deployment_name}"}

    def __init__(self, token: str):
        # Replicate's document, read here (skips the test without it), not in a handler.
        self.openapi = vendor_json("replicate-openapi.json")
        super().__init__(token)
        self.models: dict[str, dict] = {}
        self.deployments: dict[str, dict] = {}
        self.hardware = list(self.HARDWARE)
        self.refused: list[tuple[str, str, list[str]]] = []
        self.pushes = lambda model: 0  # number of `cog push r8.im/<model>` so far

    def schema_errors(self, method: str, path: str, body: Any) -> list[str]:
        for (m, pattern), doc_path in self.BODIES.items():
            if m == method and re.fullmatch(pattern, path):
                op = self.openapi["paths"][doc_path][method.lower()]
                schema = op["requestBody"]["content"]["application/json"]["schema"]
                validator = jsonschema.Draft202012Validator(schema)
                return [f"{'.'.join(map(str, e.path)) or '(body)'}: {e.message}"
                        for e in validator.iter_errors(body)]
        return []

    def route(self, method: str, path: str, body: Any) -> tuple[int, Any]:
        not_found = (404, {"detail": "Not found.", "status": 404})
        errors = self.schema_errors(method, path, body)
        if errors:
            self.refused.append((method, path, errors))
            return 422, {"title": "Invalid request", "status": 422, "detail": "; ".join(errors)}
        if method == "GET" and path == "/hardware":
            return 200, self.hardware
        m = re.fullmatch(r"/models/([^/]+)/([^/]+)", path)
        if method == "GET" and m:
            key = f"{m.group(1)}/{m.group(2)}"
            if key not in self.models:
                return not_found
            pushes = self.pushes(key)
            return 200, dict(self.models[key],
                             latest_version={"id": f"ver{pushes}"} if pushes else None)
        if method == "POST" and path == "/models":
            key = f"{body['owner']}/{body['name']}"
            if key in self.models:
                return 409, {"detail": "A model with that name and owner already exists."}
            self.models[key] = dict(body, url=f"https://replicate.com/{key}")
            return 201, self.models[key]
        m = re.fullmatch(r"/deployments/([^/]+)/([^/]+)", path)
        if m and method in ("GET", "PATCH"):
            key = f"{m.group(1)}/{m.group(2)}"
            if key not in self.deployments:
                return not_found
            if method == "PATCH":
                self.deployments[key].update(body)
            return 200, self.deployments[key]
        if method == "POST" and path == "/deployments":
            key = f"{body['model'].split('/')[0]}/{body['name']}"
            if key in self.deployments:
                return 409, {"detail": "deployment exists"}
            self.deployments[key] = dict(body, owner=key.split("/")[0])
            return 200, self.deployments[key]
        return not_found


# == docker / registry helpers ====================================================================
def registry_get(path: str, accept: str | None = None) -> tuple[int, Any, dict]:
    req = urllib.request.Request(f"http://{REGISTRY_ADDR}{path}",
                                 headers={"Accept": accept} if accept else {})
    try:
        with _DIRECT.open(req, timeout=10) as resp:
            raw, status, headers = resp.read(), resp.status, dict(resp.headers)
    except urllib.error.HTTPError as exc:
        raw, status, headers = exc.read(), exc.code, dict(exc.headers)
    try:
        return status, json.loads(raw), headers
    except ValueError:
        return status, raw, headers


def registry_up() -> bool:
    try:
        return registry_get("/v2/")[0] == 200
    except OSError:
        return False


def registry_tags(name: str) -> tuple[int, Any]:
    status, body, _ = registry_get(f"/v2/{NAMESPACE}/{name}/tags/list")
    return status, body


def local_docker():
    """The real engine (ignoring a test's DOCKER_HOST), or None."""
    try:
        import docker

        client = docker.DockerClient(base_url=_DOCKER_HOST or "unix:///var/run/docker.sock",
                                     timeout=30)
        client.ping()
        return client
    except Exception:
        return None


@pytest.fixture(scope="module")
def docker_env():
    """A reachable engine, the local base image and the loopback registry."""
    client = engine_with_base(_REAL_DOCKER_CLIENT)
    if not registry_up():
        unavailable(f"no registry answers on http://{REGISTRY_ADDR}/v2/ "
                     "(run .ci/docker-setup.sh as root)")
    return client


@pytest.fixture
def pushed_names():
    """Names whose images a test pushed: their local tags and registry manifests are removed
    afterwards (best effort)."""
    names: list[str] = []
    yield names
    client = local_docker()
    for name in names:
        repo = f"{REGISTRY}/{name}"
        if client is not None:
            for image in client.images.list(name=repo):
                for tag in image.tags:
                    if tag.startswith(repo + ":"):
                        try:
                            client.images.remove(tag)
                        except Exception:
                            pass
        try:
            status, body = registry_tags(name)
            for tag in (body or {}).get("tags") or [] if status == 200 else []:
                _, _, headers = registry_get(
                    f"/v2/{NAMESPACE}/{name}/manifests/{tag}",
                    "application/vnd.docker.distribution.manifest.v2+json")
                digest = {k.lower(): v for k, v in headers.items()}.get("docker-content-digest")
                if digest:
                    _DIRECT.open(urllib.request.Request(
                        f"http://{REGISTRY_ADDR}/v2/{NAMESPACE}/{name}/manifests/{digest}",
                        method="DELETE"), timeout=10).close()
        except Exception:
            pass


def assert_no_image(name: str) -> None:
    """No local tag and no registry repository for ``name`` (each checked when reachable)."""
    client = local_docker()
    if client is not None:
        assert client.images.list(name=f"{REGISTRY}/{name}") == [], "an image was tagged"
    if registry_up():
        status, body = registry_tags(name)
        assert status == 404 or not (body or {}).get("tags"), f"pushed to the registry: {body}"


class FakeDocker:
    """Stands in for a reachable engine in tests that must not build or push anything."""

    def ping(self) -> bool:
        return True

    def __getattr__(self, name: str):
        raise AssertionError(f"the Docker engine was used ({name}) where nothing may be built")


# == projects =====================================================================================
def unique_name() -> str:
    return f"pp-{uuid.uuid4().hex[:10]}"


def make_project(where: Path, name: str, **targets: dict) -> Path:
    """examples/text-stats under ``where``, renamed, with an A10G, secrets [HF_TOKEN] and the
    given ``targets:`` options."""
    proj = where / "proj"
    shutil.copytree(ROOT / "examples" / "text-stats", proj)
    spec_file = proj / "portapack.yaml"
    data = yaml.safe_load(spec_file.read_text(encoding="utf-8"))
    data["name"] = name
    data["secrets"] = ["HF_TOKEN"]
    data["resources"]["gpu"] = "A10G"
    if targets:
        data["targets"] = targets
    spec_file.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return proj


def files_containing(root: Path, needle: str) -> list[str]:
    hits = []
    for path in root.rglob("*"):
        if path.is_file() and needle.encode() in path.read_bytes():
            hits.append(str(path))
    return hits


FAKE_COG = """#!{python}
import json, os, sys, time
with open({record!r}, "a") as f:
    f.write(json.dumps({{"argv": [os.path.basename(sys.argv[0])] + sys.argv[1:],
                        "cwd": os.getcwd(), "at": time.time()}}) + "\\n")
print("fake cog: pushing", sys.argv[-1], flush=True)
time.sleep(float(os.environ.get("FAKE_COG_SLEEP", "0")))
code = int(os.environ.get("FAKE_COG_EXIT", "0"))
print("fake cog: done" if code == 0 else "fake cog: push failed: unauthorized", flush=True)
sys.exit(code)
"""


# == fixtures =====================================================================================
@pytest.fixture(autouse=True)
def isolated_env(monkeypatch, tmp_path):
    """No real credentials leak in: a temporary HOME, no platform tokens, a missing Modal
    config and ~/.trussrc; HF_TOKEN holds the secret every test watches for."""
    for var in CREDENTIAL_VARS:
        monkeypatch.delenv(var, raising=False)
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("USER_TRUSSRC_PATH", str(home / ".trussrc"))
    monkeypatch.setenv("MODAL_CONFIG_PATH", str(home / ".modal.toml"))
    monkeypatch.setenv("HF_TOKEN", SECRET)
    if any(os.environ.get(v) for v in ("HTTP_PROXY", "http_proxy", "HTTPS_PROXY", "https_proxy")):
        for var in ("NO_PROXY", "no_proxy"):
            monkeypatch.setenv(var, ",".join(filter(None, [os.environ.get(var),
                                                           "127.0.0.1", "localhost"])))
    return home


@pytest.fixture
def runpod_api():
    api = RunpodV2StandIn(RUNPOD_KEY)  # RunPod's REST v2, schema-checked: tests/runpod_standin.py
    yield api
    api.stop()
    assert api.leaks(SECRET, RUNPOD_KEY) == [], "a secret reached the RunPod stand-in"


@pytest.fixture
def replicate_api():
    api = ReplicateApi(REPLICATE_TOKEN)
    yield api
    api.stop()
    assert api.leaks(SECRET, REPLICATE_TOKEN) == [], "a secret reached the Replicate stand-in"
    assert api.refused == [], "Replicate's OpenAPI document refuses these requests"


class Rig:
    """One project, built for every target, with every platform ready to deploy to: tokens,
    stand-ins, a fake cog on PATH, truss.push and Modal's subprocess recorded. A test then
    breaks one thing at a time."""

    def __init__(self, tmp_path: Path, monkeypatch, runpod_api: RunpodV2StandIn,
                 replicate_api: ReplicateApi):
        self.tmp, self.mp = tmp_path, monkeypatch
        self.progress: list[str] = []
        self.runpod_api, self.replicate_api = runpod_api, replicate_api
        self.name = unique_name()
        self.proj = make_project(tmp_path, self.name)
        self.out = tmp_path / "out"
        portapack.build(self.proj, "all", self.out)
        self.options = DeployOptions(registry=REGISTRY, owner=OWNER, base_image=BASE,
                                     progress=self.progress.append)
        # RunPod
        monkeypatch.setenv("RUNPOD_API_KEY", RUNPOD_KEY)
        monkeypatch.setenv("PORTAPACK_RUNPOD_API_URL", runpod_api.url)
        monkeypatch.setattr(portapack.proof.engine, "docker_client", lambda: FakeDocker())
        # Replicate
        monkeypatch.setenv("REPLICATE_API_TOKEN", REPLICATE_TOKEN)
        monkeypatch.setenv("PORTAPACK_REPLICATE_API_URL", replicate_api.url)
        self.cog_bin = tmp_path / "fakebin"
        self.cog_bin.mkdir()
        self.cog_record = tmp_path / "cog-calls.jsonl"
        cog = self.cog_bin / "cog"
        cog.write_text(FAKE_COG.format(python=sys.executable, record=str(self.cog_record)))
        cog.chmod(0o755)
        self.clean_path = os.pathsep.join(
            d for d in os.environ.get("PATH", "").split(os.pathsep)
            if d and not os.access(os.path.join(d, "cog"), os.X_OK))
        monkeypatch.setenv("PATH", f"{self.cog_bin}{os.pathsep}{self.clean_path}")
        replicate_api.pushes = lambda model: sum(
            1 for c in self.cog_calls() if c["argv"][2:] == [f"r8.im/{model}"])
        # Baseten
        monkeypatch.setenv("BASETEN_TRUSS_AUTH_API_KEY", BASETEN_KEY)
        monkeypatch.setenv("BASETEN_TRUSS_AUTH_REMOTE_URL", "https://app.baseten.co")
        import truss

        self.truss_calls: list[dict] = []
        real_push = truss.push

        def fake_push(*args, **kwargs):
            inspect.signature(real_push).bind(*args, **kwargs)  # what truss really accepts
            self.truss_calls.append(dict(kwargs, _args=args))
            self.baseten_api.add_model("mdl7q2", kwargs["model_name"], "dep1")
            return SimpleNamespace(model_id="mdl7q2", model_deployment_id="dep1")

        monkeypatch.setattr(truss, "push", fake_push)
        # Modal
        monkeypatch.setenv("MODAL_TOKEN_ID", "ak-dummy")
        monkeypatch.setenv("MODAL_TOKEN_SECRET", "as-dummy")
        self.modal_calls: list[dict] = []
        self.modal_answer: Any = subprocess.CompletedProcess(
            [], 0, stdout=f"✓ App deployed!\n└── 🔨 Created web endpoint => "
                          f"https://acme--{self.name}-predictor-web.modal.run\n", stderr="")

        def fake_run(cmd, **kwargs):
            self.modal_calls.append({"cmd": cmd, **kwargs})
            if isinstance(self.modal_answer, BaseException):
                raise self.modal_answer
            return self.modal_answer

        monkeypatch.setattr(modal_deploy, "subprocess", SimpleNamespace(
            run=fake_run, TimeoutExpired=subprocess.TimeoutExpired))
        # The reachability probe is tested for real in test_deploy_modal.py; here it passes.
        self.modal_probes: list[float] = []
        monkeypatch.setattr(modal_deploy, "probe_modal",
                            lambda timeout=15.0: self.modal_probes.append(timeout))

    def cog_calls(self) -> list[dict]:
        if not self.cog_record.exists():
            return []
        return [json.loads(line) for line in self.cog_record.read_text().splitlines()]

    def deploy(self, target: str, **kwargs) -> Any:
        return deploy(self.proj, target, self.out, options=self.options, **kwargs)

    def cli(self, *args: str) -> Any:
        return CliRunner().invoke(main, ["deploy", "--spec", str(self.proj), "--out",
                                         str(self.out), *args])

    def assert_nothing_done(self) -> None:
        assert self.runpod_api.writes() == [], self.runpod_api.calls()  # preflight may GET
        assert [r for r in self.replicate_api.requests if r.method != "GET"] == [], \
            self.replicate_api.calls()  # preflight may GET /v1/hardware
        assert self.cog_calls() == []
        assert self.truss_calls == []
        assert self.modal_calls == []
        assert_no_image(self.name)


@pytest.fixture
def baseten_api(monkeypatch):
    """Baseten's management API, schema-checked: tests/baseten_standin.py."""
    api = BasetenApi(BASETEN_KEY)
    monkeypatch.setenv("PORTAPACK_BASETEN_API_URL", api.url)
    yield api
    api.stop()
    assert api.refused == [], "the Baseten stand-in refused a request"
    assert not any(SECRET in json.dumps(c.body) + c.path for c in api.calls)


@pytest.fixture
def rig(tmp_path, monkeypatch, runpod_api, replicate_api, baseten_api) -> Rig:
    rig = Rig(tmp_path, monkeypatch, runpod_api, replicate_api)
    rig.baseten_api = baseten_api
    return rig


def no_sdk(monkeypatch, module: str) -> None:
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a, **k: None if name == module else real(name, *a, **k))


def no_engine(rig: Rig) -> None:
    rig.mp.setattr(portapack.proof.engine, "docker_client", _REAL_DOCKER_CLIENT)
    rig.mp.setenv("DOCKER_HOST", f"unix://{rig.tmp}/no-docker.sock")


def stale(rig: Rig) -> None:
    predictor = rig.proj / "predict.py"
    predictor.write_text(predictor.read_text() + "\n# edited after the build\n")


def unbuilt(rig: Rig, target: str) -> None:
    shutil.rmtree(rig.out / target)


# == preflight ====================================================================================
BREAKS = {
    "runpod": {
        "no_sdk": (lambda r: no_sdk(r.mp, "docker"),
                   ["the docker SDK is not installed", 'pip install "portapack[docker]"']),
        "no_engine": (no_engine, ["no Docker engine is reachable", "start Docker"]),
        "no_credentials": (lambda r: r.mp.delenv("RUNPOD_API_KEY"),
                           ["RUNPOD_API_KEY is not set", "API Keys"]),
        "no_registry": (lambda r: setattr(r.options, "registry", None),
                        ["no registry", "--registry", "targets.runpod.registry"]),
        "unbuilt": (lambda r: unbuilt(r, "runpod"),
                    ["no build at", "portapack build --target runpod", "--build"]),
        "stale": (stale, ["out of date", "portapack build --target runpod"]),
    },
    "cog": {
        "no_cli": (lambda r: r.mp.setenv("PATH", r.clean_path),
                   ["the cog CLI is not installed", "github.com/replicate/cog/releases"]),
        "no_engine": (no_engine, ["cog push builds with Docker", "no Docker engine is reachable"]),
        "no_credentials": (lambda r: r.mp.delenv("REPLICATE_API_TOKEN"),
                           ["REPLICATE_API_TOKEN is not set"]),
        "no_owner": (lambda r: setattr(r.options, "owner", None),
                     ["no Replicate owner", "--owner", "targets.cog.owner"]),
        "unbuilt": (lambda r: unbuilt(r, "cog"), ["no build at", "portapack build --target cog"]),
        "stale": (stale, ["out of date", "portapack build --target cog"]),
    },
    "truss": {
        "no_sdk": (lambda r: no_sdk(r.mp, "truss"),
                   ["the truss SDK is not installed", 'pip install "portapack[truss]"']),
        "no_credentials": (lambda r: (r.mp.delenv("BASETEN_TRUSS_AUTH_API_KEY"),
                                      r.mp.delenv("BASETEN_TRUSS_AUTH_REMOTE_URL")),
                           ["BASETEN_TRUSS_AUTH_API_KEY", "BASETEN_TRUSS_AUTH_REMOTE_URL",
                            "~/.trussrc", "truss login"]),
        "unbuilt": (lambda r: unbuilt(r, "truss"),
                    ["no build at", "portapack build --target truss"]),
        "stale": (stale, ["out of date", "portapack build --target truss"]),
    },
    "modal": {
        "no_sdk": (lambda r: no_sdk(r.mp, "modal"),
                   ["the modal SDK is not installed", 'pip install "portapack[modal]"']),
        "no_credentials": (lambda r: (r.mp.delenv("MODAL_TOKEN_ID"),
                                      r.mp.delenv("MODAL_TOKEN_SECRET")),
                           ["MODAL_TOKEN_ID", "MODAL_TOKEN_SECRET", "modal token new"]),
        "unbuilt": (lambda r: unbuilt(r, "modal"),
                    ["no build at", "portapack build --target modal"]),
        "stale": (stale, ["out of date", "portapack build --target modal"]),
    },
}
CASES = [(t, b) for t, breaks in BREAKS.items() for b in breaks]


@pytest.mark.parametrize("target,broken", CASES, ids=[f"{t}-{b}" for t, b in CASES])
def test_each_preflight_failure_is_named_and_nothing_is_done(rig, target, broken):
    breaker, expected = BREAKS[target][broken]
    breaker(rig)
    with pytest.raises(PreflightError) as info:
        rig.deploy(target)
    message = str(info.value)
    assert len(info.value.problems) == 1, message  # only what was broken is reported
    for text in expected:
        assert text in message
    assert message.startswith(f"{target}: ")
    assert SECRET not in message
    rig.assert_nothing_done()


def test_the_fixture_is_ready_for_every_target(rig):
    """The baseline the preflight cases break: with nothing broken, every preflight passes."""
    for target in BREAKS:
        deployer_for(target, portapack.load_project(rig.proj, exclude=(rig.out,)), rig.out,
                     rig.options).preflight()
    rig.assert_nothing_done()


ALL_BROKEN = {
    "runpod": (["runpod"], ["no build at", "the docker SDK is not installed",
                            "RUNPOD_API_KEY is not set", "no registry to push the image to"]),
    "cog": (["cog"], ["no build at", "the cog CLI is not installed",
                      "REPLICATE_API_TOKEN is not set", "no Replicate owner"]),
    "truss": (["truss"], ["no build at", "the truss SDK is not installed",
                          "no Baseten credentials"]),
    "modal": (["modal"], ["no build at", "the modal SDK is not installed", "no Modal token"]),
}


@pytest.mark.parametrize("target", list(ALL_BROKEN))
def test_cli_reports_every_problem_together_and_exits_nonzero(rig, target):
    """Unbuilt, no SDK/CLI, no credentials (and no registry/owner): all in one message."""
    unbuilt(rig, target)
    if target == "cog":
        BREAKS["cog"]["no_cli"][0](rig)
    else:
        no_sdk(rig.mp, {"runpod": "docker"}.get(target, target))
    BREAKS[target]["no_credentials"][0](rig)
    result = rig.cli("--target", target)  # no --registry / --owner
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output
    lines = result.output.splitlines()
    assert lines[0] == "cannot deploy:"
    assert len(lines) > 2 and all(line.startswith(f"  {target}: ") for line in lines[1:])
    for text in ALL_BROKEN[target][1]:
        assert text in result.output
    assert SECRET not in result.output
    rig.assert_nothing_done()


def test_cli_json_lists_each_preflight_problem(rig):
    unbuilt(rig, "runpod")
    rig.mp.delenv("RUNPOD_API_KEY")
    result = rig.cli("--target", "runpod", "--json")
    assert result.exit_code == 1
    report = json.loads(result.output)
    assert report["ok"] is False and report["error"] == "PreflightError"
    assert len(report["problems"]) == 3, report["problems"]


def test_preflight_accepts_the_files_the_platforms_read(rig, isolated_env):
    """Credentials from ~/.modal.toml (active profile) and ~/.trussrc count too."""
    for var in ("MODAL_TOKEN_ID", "MODAL_TOKEN_SECRET", "BASETEN_TRUSS_AUTH_API_KEY",
                "BASETEN_TRUSS_AUTH_REMOTE_URL"):
        rig.mp.delenv(var)
    with pytest.raises(PreflightError):
        rig.deploy("modal")
    (isolated_env / ".modal.toml").write_text(
        '[default]\ntoken_id = "ak-x"\ntoken_secret = "as-x"\nactive = true\n')
    (isolated_env / ".trussrc").write_text("[baseten]\nremote_provider = baseten\napi_key = "
                                           f"{BASETEN_KEY}\nremote_url = https://app.baseten.co\n")
    project = portapack.load_project(rig.proj, exclude=(rig.out,))
    for target in ("modal", "truss"):
        deployer_for(target, project, rig.out, rig.options).preflight()
    # truss sends a ~/.trussrc key as "Api-Key" (an env key as "Bearer"); so does the preflight
    assert rig.baseten_api.calls[-1].authorization == f"Api-Key {BASETEN_KEY}"


def test_truss_preflight_rejects_half_set_env_credentials(rig, isolated_env):
    rig.mp.delenv("BASETEN_TRUSS_AUTH_REMOTE_URL")
    (isolated_env / ".trussrc").write_text(
        "[baseten]\nremote_provider = baseten\napi_key = k\nremote_url = https://app.baseten.co\n")
    from truss.remote.remote_factory import env_remote_config

    with pytest.raises(ValueError, match="BASETEN_TRUSS_AUTH_REMOTE_URL is not"):
        env_remote_config()  # what truss.push would run into
    with pytest.raises(PreflightError, match="BASETEN_TRUSS_AUTH_REMOTE_URL"):
        rig.deploy("truss")


def test_deploy_with_build_rebuilds_a_stale_target_first(rig):
    stale(rig)
    with pytest.raises(PreflightError, match="out of date"):
        rig.deploy("truss")
    result = rig.deploy("truss", rebuild=True)
    assert isinstance(result, DeployResult) and len(rig.truss_calls) == 1


# == dry run ======================================================================================
@pytest.fixture
def no_network(monkeypatch):
    """Fail on any HTTP call portapack's API client would make."""
    import portapack.deploying.base as base

    def refuse(*args, **kwargs):
        raise AssertionError(f"network call during a dry run: {args[0].full_url}")

    monkeypatch.setattr(base.urllib.request, "urlopen", refuse)


def test_dry_run_plans_for_cog_truss_and_modal(rig, no_network):
    cog = rig.deploy("cog", dry_run=True)
    assert isinstance(cog, Plan) and cog.problems == []
    assert cog.settings.pop("price").startswith("gpu-a40-large (48 GB) at $2.61/GPU-hour")
    assert cog.settings == {"model": f"r8.im/{OWNER}/{rig.name}", "hardware": "gpu-a40-large",
                            "min_instances": 0, "max_instances": 2,
                            "api": rig.replicate_api.url}
    assert [s.action for s in cog.steps] == ["create model if missing", "cog push",
                                             "create or update deployment"]
    assert cog.steps[1].detail == {"command": f"cog push r8.im/{OWNER}/{rig.name}",
                                   "cwd": str(rig.out / "cog")}
    assert cog.secrets == ["HF_TOKEN"]

    rig.options.promote = True
    truss = rig.deploy("truss", dry_run=True)
    assert truss.problems == []
    assert truss.settings["model_name"] == rig.name
    assert truss.settings["resources"]["accelerator"] == "A10G"
    assert truss.settings["promote"] is True and truss.settings["publish"] is True
    scaling = {"min_replica": 0, "max_replica": 2, "scale_down_delay": 120, "concurrency_target": 1}
    assert truss.settings["autoscaling"] == scaling
    assert truss.to_json()["steps"] == [
        {"action": "push truss", "target_directory": str(rig.out / "truss"),
         "model_name": rig.name, "publish": True, "promote": True},
        {"action": "set autoscaling", "on": "the new deployment and the production environment",
         **scaling}]

    result = rig.cli("--target", "modal", "--dry-run", "--json")
    assert result.exit_code == 0, result.output
    plan = json.loads(result.output)["plan"]
    assert plan["steps"] == [{"action": "deploy app",
                              "command": f"modal deploy modal_app.py --name {rig.name}",
                              "cwd": str(rig.out / "modal")}]
    settings = plan["settings"]
    assert settings["app"] == rig.name
    assert settings["price"].startswith("A10 (24 GB) at $1.1/GPU-hour")
    assert "A10" in str(settings["gpu"])
    assert {k: str(settings[k]) for k in ("timeout", "scaledown_window", "min_containers",
                                          "max_containers")} == {
        "timeout": "60", "scaledown_window": "120", "min_containers": "0",
        "max_containers": "2"}
    assert plan["secrets"] == ["HF_TOKEN"]
    rig.assert_nothing_done()


def test_modal_plan_settings_are_values_not_source_literals(rig, no_network):
    plan = rig.deploy("modal", dry_run=True).to_json()
    assert plan["settings"]["gpu"] == "A10"
    assert plan["settings"]["min_containers"] == 0
    assert plan["settings"]["cpu"] == 1.0


@pytest.mark.parametrize("target", list(TARGETS))
def test_dry_run_of_an_unbuilt_target_plans_the_build_first(rig, no_network, target):
    unbuilt(rig, target)
    plan = rig.deploy(target, dry_run=True)
    assert plan.steps[0].action == "build"
    assert plan.steps[0].detail["target"] == target
    assert len(plan.steps) > 1  # and everything after it, read from the spec in memory
    assert not (rig.out / target).exists()  # a dry run writes nothing
    rig.assert_nothing_done()


def test_dry_run_plan_is_the_same_before_and_after_building(rig, no_network):
    built = rig.deploy("cog", dry_run=True).to_json()
    unbuilt(rig, "cog")
    planned = rig.deploy("cog", dry_run=True).to_json()
    assert planned["steps"][0]["action"] == "build"
    assert planned["steps"][1:] == built["steps"]
    assert planned["settings"] == built["settings"]


# == Replicate (Cog) ==============================================================================
def test_a_cog_plan_without_an_owner_shows_a_placeholder_and_the_fix(rig, no_network):
    rig.options.owner = None
    plan = rig.deploy("cog", dry_run=True)
    shown = json.dumps(plan.to_json())
    assert "None" not in shown and f"r8.im/<owner>/{rig.name}" in shown
    assert plan.settings["owner"] == ("<owner> (no Replicate owner: pass --owner or set "
                                      "targets.cog.owner in the spec)")
    assert "no Replicate owner: pass --owner or set targets.cog.owner in the spec" in plan.problems


def test_cog_deploy_creates_model_pushes_then_creates_deployment(rig):
    api = rig.replicate_api
    result = rig.deploy("cog")
    model = f"{OWNER}/{rig.name}"
    calls = rig.cog_calls()
    assert [c["argv"] for c in calls] == [["cog", "push", f"r8.im/{model}"]]
    assert Path(calls[0]["cwd"]).resolve() == (rig.out / "cog").resolve()
    assert [(r.method, r.path, r.body) for r in api.requests] == [
        ("GET", "/v1/hardware", None),  # preflight: the token works, the hardware exists
        ("GET", f"/v1/models/{model}", None),
        ("POST", "/v1/models", {"owner": OWNER, "name": rig.name, "visibility": "private",
                                "hardware": "gpu-a40-large"}),
        ("GET", f"/v1/models/{model}", None),
        ("GET", f"/v1/deployments/{model}", None),
        ("POST", "/v1/deployments", {"name": rig.name, "model": model, "version": "ver1",
                                     "hardware": "gpu-a40-large", "min_instances": 0,
                                     "max_instances": 2}),
    ]
    assert all(r.headers["authorization"] == f"Bearer {REPLICATE_TOKEN}" for r in api.requests)
    # order: the model exists before the push, the version is read after it
    assert api.requests[2].at <= calls[0]["at"] <= api.requests[3].at
    assert result.endpoint_id == model
    assert result.url == f"https://api.replicate.com/v1/deployments/{model}/predictions"
    assert "$REPLICATE_API_TOKEN" in result.sample_request
    assert result.steps_done == ["create model if missing", "cog push",
                                 "create or update deployment"]
    assert "  fake cog: pushing r8.im/" + model in rig.progress  # the push streams its output

    api.requests.clear()
    rig.deploy("cog")  # again: no new model, a new version, the deployment updated
    assert [(r.method, r.path, r.body) for r in api.requests] == [
        ("GET", "/v1/hardware", None),
        ("GET", f"/v1/models/{model}", None),
        ("GET", f"/v1/models/{model}", None),
        ("GET", f"/v1/deployments/{model}", None),
        ("PATCH", f"/v1/deployments/{model}", {"version": "ver2", "hardware": "gpu-a40-large",
                                               "min_instances": 0, "max_instances": 2}),
    ]
    assert len(api.models) == 1 and len(api.deployments) == 1
    assert api.deployments[model]["version"] == "ver2"


def test_cog_push_failure_says_what_was_done(rig):
    rig.mp.setenv("FAKE_COG_EXIT", "3")
    result = rig.cli("--target", "cog", "--owner", OWNER)
    assert result.exit_code == 1
    assert "Traceback" not in result.output
    assert "cog push failed: cog push exited with 3:" in result.output
    assert "fake cog: push failed: unauthorized" in result.output
    assert "  done: create model if missing" in result.output
    assert "  not done: cog push" in result.output
    assert "  not done: create or update deployment" in result.output
    assert [r.method for r in rig.replicate_api.requests] == ["GET", "GET", "POST"]  # no deployment
    assert SECRET not in result.output and REPLICATE_TOKEN not in result.output


def test_cog_push_honours_the_timeout(rig):
    rig.mp.setenv("FAKE_COG_SLEEP", "4")
    rig.options.timeout = 1
    with pytest.raises(DeployError, match="cog push"):
        rig.deploy("cog")


def test_cog_preflight_without_the_cli_on_path_names_it(rig):
    rig.mp.setenv("PATH", rig.clean_path)
    assert shutil.which("cog") is None
    result = rig.cli("--target", "cog", "--owner", OWNER)
    assert result.exit_code == 1
    assert "the cog CLI is not installed" in result.output
    rig.assert_nothing_done()


def test_cog_preflight_names_a_wrong_token_before_anything_is_pushed(rig):
    rig.mp.setenv("REPLICATE_API_TOKEN", "wrong-token")
    result = rig.cli("--target", "cog", "--owner", OWNER)
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert "Replicate refused REPLICATE_API_TOKEN (HTTP 401)" in result.output
    assert "wrong-token" not in result.output
    assert rig.replicate_api.calls() == [("GET", "/v1/hardware")]
    rig.assert_nothing_done()


def test_cog_preflight_names_replicate_when_its_api_cannot_be_reached(rig):
    with socket.socket() as s:  # a port nothing listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    rig.mp.setenv("PORTAPACK_REPLICATE_API_URL", f"http://127.0.0.1:{port}/v1")
    result = rig.cli("--target", "cog", "--owner", OWNER)
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert "Replicate's API cannot be reached" in result.output
    rig.assert_nothing_done()


def test_cog_preflight_refuses_hardware_the_account_does_not_have(rig):
    rig.replicate_api.hardware = [h for h in rig.replicate_api.hardware
                                  if h["sku"] != "gpu-a40-large"]
    result = rig.cli("--target", "cog", "--owner", OWNER)
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert "hardware gpu-a40-large is not available to this Replicate account" in result.output
    assert "gpu-l40s" in result.output  # what it has instead
    rig.assert_nothing_done()


def test_replicate_stand_in_refuses_what_replicates_schema_refuses(replicate_api):
    """The contract check itself: a body Replicate's OpenAPI document refuses gets 422."""
    from portapack.deploying.base import ApiClient

    api = ApiClient(replicate_api.url, REPLICATE_TOKEN)
    status, _ = api.request("POST", "/deployments", {"name": "x", "model": "acme/x",
                                                     "version": "v", "hardware": "cpu",
                                                     "min_instances": 0, "max_instances": 50})
    assert status == 422
    assert api.request("POST", "/models", {"owner": "acme", "name": "x"})[0] == 422
    assert [r[0:2] for r in replicate_api.refused] == [("POST", "/deployments"), ("POST", "/models")]
    replicate_api.refused.clear()


# == Baseten (Truss) ==============================================================================
def test_truss_push_gets_the_exact_arguments(rig):
    result = rig.deploy("truss")
    assert rig.truss_calls == [{"_args": (), "target_directory": str(rig.out / "truss"),
                                "model_name": rig.name, "publish": True, "promote": False}]
    assert result.endpoint_id == "mdl7q2"
    # published, not promoted: the deployment's own URL, not production's
    assert result.url == "https://model-mdl7q2.api.baseten.co/deployment/dep1/predict"
    assert "$BASETEN_API_KEY" in result.sample_request
    assert result.steps_done == ["push truss", "set autoscaling"]
    # preflight proved the key, then the push's deployment got the spec's scaling (the exact
    # requests are checked in test_deploy_truss.py)
    assert [(c.method, c.path) for c in rig.baseten_api.calls] == [
        ("GET", "/v1/models"), ("PATCH", "/v1/models/mdl7q2/deployments/dep1/autoscaling_settings")]


def test_truss_promote_comes_from_the_spec_or_the_flag(rig):
    spec_file = rig.proj / "portapack.yaml"
    data = yaml.safe_load(spec_file.read_text())
    data["targets"] = {"truss": {"promote": True}}
    spec_file.write_text(yaml.safe_dump(data, sort_keys=False))
    portapack.build(rig.proj, ["truss"], rig.out)
    rig.deploy("truss")
    assert rig.truss_calls[-1]["promote"] is True
    result = rig.cli("--target", "truss", "--no-promote")
    assert result.exit_code == 0, result.output
    assert rig.truss_calls[-1]["promote"] is False
    assert "  url: https://model-mdl7q2.api.baseten.co/deployment/dep1/predict" in result.output
    result = rig.cli("--target", "truss", "--promote")
    assert "  url: https://model-mdl7q2.api.baseten.co/production/predict" in result.output
    assert [c["promote"] for c in rig.truss_calls] == [True, False, True]
    assert {c["target_directory"] for c in rig.truss_calls} == {str(rig.out / "truss")}


# == Modal ========================================================================================
def test_modal_without_a_token_fails_fast_in_a_real_subprocess(tmp_path):
    name = unique_name()
    proj = make_project(tmp_path, name)
    out = tmp_path / "out"
    portapack.build(proj, ["modal"], out)
    env = {k: v for k, v in os.environ.items() if not k.startswith("MODAL_TOKEN")}
    env["MODAL_CONFIG_PATH"] = str(tmp_path / "missing" / ".modal.toml")
    assert not Path(env["MODAL_CONFIG_PATH"]).exists()
    try:
        done = subprocess.run([sys.executable, "-m", "portapack.cli", "deploy", "--target",
                               "modal", "--spec", str(proj), "--out", str(out)],
                              capture_output=True, text=True, timeout=60, env=env,
                              cwd=tmp_path)
    except subprocess.TimeoutExpired:
        pytest.fail("portapack deploy --target modal hung without a token")
    assert done.returncode == 1, done.stdout + done.stderr
    assert done.stderr.startswith("cannot deploy: modal: no Modal token: set MODAL_TOKEN_ID "
                                  "and MODAL_TOKEN_SECRET, or run 'modal token new'")
    assert "Traceback" not in done.stdout + done.stderr
    assert SECRET not in done.stdout + done.stderr


def test_modal_deploy_runs_the_command_with_cwd_and_timeout(rig):
    rig.options.timeout = 321
    result = rig.deploy("modal")
    assert len(rig.modal_calls) == 1
    call = rig.modal_calls[0]
    assert call["cmd"] == [sys.executable, "-m", "modal", "deploy", "modal_app.py", "--name",
                           rig.name]
    assert Path(call["cwd"]) == rig.out / "modal"
    assert call["timeout"] == 321
    assert result.url == f"https://acme--{rig.name}-predictor-web.modal.run"
    assert result.steps_done == ["deploy app"]
    assert any("App deployed" in line for line in rig.progress)
    # deploying again runs the same idempotent `modal deploy --name NAME`
    rig.deploy("modal")
    assert rig.modal_calls[1]["cmd"] == call["cmd"]


def test_modal_timeout_is_a_clear_deploy_error(rig):
    rig.modal_answer = subprocess.TimeoutExpired(["modal"], 7)
    rig.options.timeout = 7
    with pytest.raises(DeployError) as info:
        rig.deploy("modal")
    assert str(info.value).splitlines() == [
        "deploy app failed: modal deploy did not finish within 7s (no network, or a token "
        "Modal does not accept?)",
        "  done: nothing",
        "  not done: deploy app",
    ]
    result = rig.cli("--target", "modal", "--timeout", "7")
    assert result.exit_code == 1
    assert "deploy failed: deploy app failed: modal deploy did not finish within 7s" in \
        result.output
    assert "not done: deploy app" in result.output and "Traceback" not in result.output
    assert rig.modal_calls[-1]["timeout"] == 7


def test_modal_nonzero_exit_shows_the_tail(rig):
    rig.modal_answer = subprocess.CompletedProcess(
        [], 1, stdout="Building image...\n", stderr="Error: token rejected\n")
    with pytest.raises(DeployError, match=r"modal deploy exited with 1: Building image"
                                          r"\.\.\.\nError: token rejected"):
        rig.deploy("modal")


# == secrets ======================================================================================
def test_secret_value_never_appears_in_files_output_or_requests(rig):
    """HF_TOKEN=sk-very-secret is set; the spec declares secrets [HF_TOKEN]."""
    assert os.environ["HF_TOKEN"] == SECRET
    outputs = []
    for target in ("cog", "truss", "modal"):
        result = rig.cli("--target", target, "--owner", OWNER)
        assert result.exit_code == 0, result.output
        outputs.append(result.output)
        dry = rig.cli("--target", target, "--owner", OWNER, "--dry-run", "--json")
        outputs.append(dry.output)
        assert json.loads(dry.output)["plan"]["secrets"] == ["HF_TOKEN"]
    rig.mp.setenv("FAKE_COG_EXIT", "1")
    outputs.append(rig.cli("--target", "cog", "--owner", OWNER).output)  # an error, too
    assert all(SECRET not in o for o in outputs)
    assert files_containing(rig.out, SECRET) == []
    assert files_containing(rig.out, "HF_TOKEN") != []  # the name is there, the value never
    assert rig.replicate_api.requests and rig.replicate_api.leaks(SECRET) == []
    assert SECRET not in repr(rig.truss_calls) + repr(rig.modal_calls) + "\n".join(rig.progress)


# == Python API ===================================================================================
def test_python_api_returns_result_objects(rig):
    plan = deploy(rig.proj, "truss", rig.out, dry_run=True, options=rig.options)
    assert isinstance(plan, Plan) and plan.to_json()["target"] == "truss"
    result = deploy(str(rig.proj), "truss", str(rig.out), options=rig.options)
    assert isinstance(result, DeployResult)
    assert result.to_json() == {
        "target": "truss", "name": rig.name, "endpoint_id": "mdl7q2",
        "url": "https://model-mdl7q2.api.baseten.co/deployment/dep1/predict",
        "sample_request": result.sample_request, "steps_done": ["push truss", "set autoscaling"]}
    with pytest.raises(portapack.TargetError, match="unknown target 'heroku'"):
        deploy(rig.proj, "heroku", rig.out)


def test_top_level_portapack_deploy_stays_callable(rig):
    import portapack.deploying  # noqa: F401  (what the first portapack.deploy() call does too)

    plan = portapack.deploy(rig.proj, "truss", rig.out, dry_run=True, options=rig.options)
    assert (plan.target, plan.name) == ("truss", rig.name)
