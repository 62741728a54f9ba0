"""Truss / Baseten: gated hf:// weights, and autoscaling applied after the push.

What runs for real: portapack's build, truss's own config validator (TrussConfig), the HTTP
client, and a local stand-in for Baseten's management API (tests/baseten_standin.py) that
validates every request against Baseten's published OpenAPI document. Only ``truss.push``
(which needs Baseten itself) is replaced: its arguments are bound to the real signature and it
returns what the real one does, an object with model_id and model_deployment_id.
"""

from __future__ import annotations

import inspect
import shutil
import socket
from pathlib import Path
from types import SimpleNamespace

import pytest
import yaml
from baseten_standin import BasetenApi
from click.testing import CliRunner

import portapack
from portapack.cli import main
from portapack.deploying import DeployError, DeployOptions, PreflightError, deploy
from portapack.deploying.base import ApiClient

ROOT = Path(__file__).resolve().parent.parent
KEY = "baseten-test-key-5d1e"
SECRET = "hf-very-secret"
MODEL_ID, DEPLOYMENT_ID = "mdl4x9", "dpl2k7"


def make_project(where: Path, **changes) -> Path:
    proj = where / "proj"
    shutil.copytree(ROOT / "examples" / "text-stats", proj)
    spec_file = proj / "portapack.yaml"
    data = yaml.safe_load(spec_file.read_text(encoding="utf-8"))
    data.update(name="truss-scaling", **changes)
    spec_file.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return proj


def truss_config(proj: Path, out: Path) -> dict:
    """Build for truss; validate config.yaml with truss's own strict validator; return it."""
    from truss.base.truss_config import TrussConfig

    portapack.build(proj, ["truss"], out)
    path = out / "truss" / "config.yaml"
    TrussConfig.from_yaml(path).validate_forbid_extra()
    return yaml.safe_load(path.read_text(encoding="utf-8"))


# == hf:// weights and auth_secret_name ==========================================================
HF = "hf://acme/gated-model@0123456789abcdef0123456789abcdef01234567"


@pytest.mark.parametrize("secret", ["HF_TOKEN", "HUGGING_FACE_HUB_TOKEN"])
def test_hf_weights_name_the_declared_token_secret(tmp_path, secret):
    proj = make_project(tmp_path, secrets=["OTHER", secret],
                        weights=[{"source": HF, "path": "/weights/m"},
                                 {"source": "s3://bucket/key", "path": "/weights/s"}])
    config = truss_config(proj, tmp_path / "out")
    assert config["secrets"] == {"OTHER": None, secret: None}  # the named secret is declared
    assert config["weights"] == [
        {"source": HF, "mount_location": "/weights/m", "auth_secret_name": secret},
        {"source": "s3://bucket/key", "mount_location": "/weights/s"}]  # not an HF token's job


def test_hf_weights_without_a_token_secret_stay_anonymous(tmp_path):
    proj = make_project(tmp_path, secrets=["OTHER"], weights=[{"source": HF, "path": "/w"}])
    config = truss_config(proj, tmp_path / "out")
    assert config["weights"] == [{"source": HF, "mount_location": "/w"}]


def test_truss_rejects_an_auth_secret_it_cannot_parse(tmp_path):
    """The validator the tests above rely on does refuse a bad weights entry."""
    from truss.base.truss_config import TrussConfig

    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump({"weights": [{"source": HF, "mount_location": "/w",
                                                 "auth_secret": "HF_TOKEN"}]}))
    with pytest.raises(Exception, match="auth_secret"):
        TrussConfig.from_yaml(path).validate_forbid_extra()


# == notes =======================================================================================
def test_scaling_notes_say_deploy_applies_them(tmp_path):
    proj = make_project(tmp_path, scaling={"min_replicas": 1, "max_replicas": 3,
                                           "idle_timeout": 900, "concurrency": 2})
    result = portapack.build(proj, ["truss"], tmp_path / "out")
    notes = {n.feature: n.message for b in result.builds for n in b.notes}
    for feature, setting in (("scaling.min_replicas", "min_replica"),
                             ("scaling.max_replicas", "max_replica"),
                             ("scaling.idle_timeout", "scale_down_delay")):
        assert f"'portapack deploy' sets {setting} through Baseten's API" in notes[feature]
    assert "scaling.concurrency" not in notes  # runtime.predict_concurrency + concurrency_target
    config = yaml.safe_load((tmp_path / "out" / "truss" / "config.yaml").read_text())
    assert config["runtime"]["predict_concurrency"] == 2


# == deploy: preflight, push, autoscaling ========================================================
@pytest.fixture
def api():
    api = BasetenApi(KEY)
    yield api
    api.stop()


@pytest.fixture
def env(tmp_path, monkeypatch, api):
    """Env credentials (truss sends those as Bearer), the stand-in as the API, a fake push."""
    for var in ("BASETEN_TRUSS_AUTH_API_KEY", "BASETEN_TRUSS_AUTH_REMOTE_URL", "BASETEN_API_KEY"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("USER_TRUSSRC_PATH", str(tmp_path / "no-trussrc"))
    monkeypatch.setenv("BASETEN_TRUSS_AUTH_API_KEY", KEY)
    monkeypatch.setenv("BASETEN_TRUSS_AUTH_REMOTE_URL", "https://app.baseten.co")
    monkeypatch.setenv("PORTAPACK_BASETEN_API_URL", api.url)
    monkeypatch.setenv("HF_TOKEN", SECRET)
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    import truss

    real_push, pushes = truss.push, []

    def fake_push(*args, **kwargs):
        inspect.signature(real_push).bind(*args, **kwargs)
        pushes.append(kwargs)
        if not getattr(fake_push, "forget", False):
            api.add_model(MODEL_ID, kwargs["model_name"], DEPLOYMENT_ID)
        return SimpleNamespace(model_id=MODEL_ID, model_deployment_id=DEPLOYMENT_ID)

    monkeypatch.setattr(truss, "push", fake_push)
    proj = make_project(tmp_path, secrets=["HF_TOKEN"],
                        scaling={"min_replicas": 1, "max_replicas": 5, "idle_timeout": 1800,
                                 "concurrency": 4})
    portapack.build(proj, ["truss"], tmp_path / "out")
    return SimpleNamespace(proj=proj, out=tmp_path / "out", pushes=pushes, push=fake_push,
                           mp=monkeypatch)


SCALING = {"min_replica": 1, "max_replica": 5, "scale_down_delay": 1800, "concurrency_target": 4}


def test_deploy_sets_autoscaling_with_the_exact_requests(env, api):
    result = deploy(env.proj, "truss", env.out, options=DeployOptions(promote=False))
    assert result.steps_done == ["push truss", "set autoscaling"]
    assert len(env.pushes) == 1
    calls = [(c.method, c.path, c.authorization, c.body, c.status) for c in api.calls]
    assert calls == [
        ("GET", "/v1/models", f"Bearer {KEY}", None, 200),  # preflight: reachable, key valid
        ("PATCH", f"/v1/models/{MODEL_ID}/deployments/{DEPLOYMENT_ID}/autoscaling_settings",
         f"Bearer {KEY}", SCALING, 200)]
    assert api.refused == []
    assert api.autoscaling == {(MODEL_ID, DEPLOYMENT_ID): SCALING}


def test_promoted_deploy_also_sets_the_production_environment(env, api):
    deploy(env.proj, "truss", env.out, options=DeployOptions(promote=True))
    assert [(c.method, c.path, c.body) for c in api.calls[1:]] == [
        ("PATCH", f"/v1/models/{MODEL_ID}/deployments/{DEPLOYMENT_ID}/autoscaling_settings", SCALING),
        ("PATCH", f"/v1/models/{MODEL_ID}/environments/production",
         {"autoscaling_settings": SCALING})]
    assert api.refused == [] and all(c.status == 200 for c in api.calls)
    # again: the same settings, which Baseten reports as UNCHANGED, and no second model
    deploy(env.proj, "truss", env.out, options=DeployOptions(promote=True))
    assert len(api.models) == 1 and api.refused == []


def test_trussrc_key_is_sent_as_api_key(env, api, tmp_path):
    for var in ("BASETEN_TRUSS_AUTH_API_KEY", "BASETEN_TRUSS_AUTH_REMOTE_URL"):
        env.mp.delenv(var)
    rc = tmp_path / "trussrc"
    rc.write_text(f"[baseten]\nremote_provider = baseten\napi_key = {KEY}\n"
                  "remote_url = https://app.baseten.co\n")
    env.mp.setenv("USER_TRUSSRC_PATH", str(rc))
    deploy(env.proj, "truss", env.out)
    assert {c.authorization for c in api.calls} == {f"Api-Key {KEY}"}


def test_a_wrong_key_fails_preflight_before_the_push(env, api):
    env.mp.setenv("BASETEN_TRUSS_AUTH_API_KEY", "not-the-key")
    with pytest.raises(PreflightError) as info:
        deploy(env.proj, "truss", env.out)
    assert str(info.value) == (
        "truss: Baseten refused the API key from BASETEN_TRUSS_AUTH_API_KEY (401): run "
        "'truss login' with a valid key, or fix BASETEN_TRUSS_AUTH_API_KEY")
    assert env.pushes == [] and [(c.method, c.path) for c in api.calls] == [("GET", "/v1/models")]
    assert "not-the-key" not in str(info.value)


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]  # closed again when this returns: connections are refused


def test_an_unreachable_api_fails_preflight_naming_baseten(env):
    url = f"http://127.0.0.1:{closed_port()}"
    env.mp.setenv("PORTAPACK_BASETEN_API_URL", url)
    result = CliRunner().invoke(main, ["deploy", "--target", "truss", "--spec", str(env.proj),
                                       "--out", str(env.out)])
    assert result.exit_code == 1, result.output
    assert "truss: cannot reach Baseten's API: GET " + url + "/v1/models: cannot connect" in \
        result.output
    assert "Traceback" not in result.output and env.pushes == []


def test_a_refused_autoscaling_update_says_the_push_was_done(env, api):
    env.push.forget = True  # Baseten does not know the pushed model: the PATCH gets 404
    with pytest.raises(DeployError) as info:
        deploy(env.proj, "truss", env.out)
    lines = str(info.value).splitlines()
    assert lines[0].startswith(f"set autoscaling failed: PATCH /v1/models/{MODEL_ID}/deployments/"
                               f"{DEPLOYMENT_ID}/autoscaling_settings answered 404")
    assert lines[1:] == ["  done: push truss", "  not done: set autoscaling"]


# == the stand-in refuses what Baseten would =====================================================
def test_the_stand_in_refuses_what_the_schema_or_docs_refuse(api):
    api.add_model(MODEL_ID, "m", DEPLOYMENT_ID)
    client = ApiClient(api.url, KEY, timeout=5, scheme="Api-Key")
    path = f"/v1/models/{MODEL_ID}/deployments/{DEPLOYMENT_ID}/autoscaling_settings"
    assert client.request("PATCH", path, {"min_replicas": 1})[0] == 422  # unknown field
    assert client.request("PATCH", path, {"scale_down_delay": "60"})[0] == 422  # wrong type
    assert client.request("PATCH", path, {"scale_down_delay": 3601})[0] == 422  # documented range
    assert client.request("PATCH", f"/v1/models/{MODEL_ID}/environments/production",
                          {"min_replica": 1})[0] == 422  # must be inside autoscaling_settings
    assert ApiClient(api.url, KEY, timeout=5, scheme="Token").request("GET", "/v1/models")[0] == 401
    assert client.request("PATCH", path, {"scale_down_delay": 0})[0] == 200
    assert len(api.refused) == 4
