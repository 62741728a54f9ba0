"""Baseten: push the Truss through truss's Python API, publish, promote on request, then set
autoscaling through Baseten's management API (config.yaml has no autoscaling)."""

from __future__ import annotations

import configparser
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from portapack.deploying.base import (
    ApiClient,
    Deployer,
    DeployResult,
    Plan,
    PreflightError,
    Step,
    missing_module,
)
from portapack.errors import PortapackError

API_URL_ENV = "PORTAPACK_BASETEN_API_URL"  # overrides the management API's base (tests)
PREFLIGHT_TIMEOUT = 15.0  # seconds: an unreachable Baseten fails preflight within this


def truss_credentials() -> str | None:
    if os.environ.get("BASETEN_TRUSS_AUTH_API_KEY") and os.environ.get("BASETEN_TRUSS_AUTH_REMOTE_URL"):
        return "BASETEN_TRUSS_AUTH_API_KEY/BASETEN_TRUSS_AUTH_REMOTE_URL"
    path = trussrc_path()
    return str(path) if path.is_file() else None


def trussrc_path() -> Path:
    return Path(os.environ.get("USER_TRUSSRC_PATH", "~/.trussrc")).expanduser()


@dataclass(frozen=True)
class BasetenAuth:
    """The management API's base URL and the Authorization header truss.push would send."""

    api_url: str
    scheme: str
    token: str
    source: str  # where the key came from, for messages (never the key itself)

    def client(self, timeout: float = 60) -> ApiClient:
        return ApiClient(self.api_url, self.token, timeout=timeout, scheme=self.scheme)


def baseten_auth() -> BasetenAuth:
    """Resolve the credentials the way truss 0.18.36 does (truss/remote/remote_factory.py and
    truss/remote/baseten/auth.py): the env pair wins and is sent as ``Bearer``; otherwise the
    single remote in ~/.trussrc, whose api_key truss sends as ``Api-Key`` (Baseten's management
    OpenAPI, 2026-07-01, accepts both schemes). Keys truss keeps in the keyring or OAuth
    sessions are read through truss itself."""
    from truss.remote.baseten.api import resolve_rest_api_url

    key, url = os.environ.get("BASETEN_TRUSS_AUTH_API_KEY"), os.environ.get("BASETEN_TRUSS_AUTH_REMOTE_URL")
    if key and url:
        return BasetenAuth(os.environ.get(API_URL_ENV) or resolve_rest_api_url(url), "Bearer", key,
                           "BASETEN_TRUSS_AUTH_API_KEY")
    path = trussrc_path()
    config = configparser.ConfigParser()
    try:
        config.read(path, encoding="utf-8")
    except configparser.Error as exc:
        raise PortapackError(f"{path}: not a valid truss config ({exc}); run 'truss login'") from None
    remotes = config.sections()
    if len(remotes) != 1:  # truss.push refuses the same
        raise PortapackError(f"{path} has {len(remotes)} remotes ({', '.join(remotes) or 'none'}); "
                             "truss.push needs exactly one: run 'truss login' or set "
                             "BASETEN_TRUSS_AUTH_API_KEY and BASETEN_TRUSS_AUTH_REMOTE_URL")
    section = config[remotes[0]]
    api_url = os.environ.get(API_URL_ENV) or resolve_rest_api_url(section.get("remote_url", ""))
    if section.get("api_key"):
        return BasetenAuth(api_url, "Api-Key", section["api_key"], str(path))
    from truss.remote.remote_factory import RemoteFactory  # keyring or OAuth: truss knows how

    header = RemoteFactory.create(remote=remotes[0]).fetch_auth_header()["Authorization"]
    scheme, _, token = header.partition(" ")
    return BasetenAuth(api_url, scheme, token, f"{path} [{remotes[0]}]")


class TrussDeployer(Deployer):
    target = "truss"
    install_hint = 'pip install "portapack[truss]"'

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.pushed: tuple[str, str] | None = None  # (model_id, deployment_id) after the push

    @property
    def promote(self) -> bool:
        return self.options.promote if self.options.promote is not None else \
            self.spec.targets.truss.promote

    def check_platform(self) -> list[str]:
        problems = missing_module("truss", "truss")
        key, url = (bool(os.environ.get(v)) for v in ("BASETEN_TRUSS_AUTH_API_KEY",
                                                       "BASETEN_TRUSS_AUTH_REMOTE_URL"))
        if key != url:  # truss refuses one without the other
            missing = "BASETEN_TRUSS_AUTH_REMOTE_URL" if key else "BASETEN_TRUSS_AUTH_API_KEY"
            problems.append(f"{missing} is not set: truss needs BASETEN_TRUSS_AUTH_API_KEY and "
                            "BASETEN_TRUSS_AUTH_REMOTE_URL together (or neither, with ~/.trussrc)")
        elif truss_credentials() is None:
            problems.append("no Baseten credentials: run 'truss login' (writes ~/.trussrc), or set "
                            "BASETEN_TRUSS_AUTH_API_KEY and BASETEN_TRUSS_AUTH_REMOTE_URL")
        return problems

    def preflight(self) -> None:
        """The offline checks, then one cheap authenticated call (GET /v1/models) that proves
        Baseten answers and takes the key, within PREFLIGHT_TIMEOUT, before anything is pushed."""
        super().preflight()
        problem = self.check_reachable()
        if problem:
            raise PreflightError(self.target, [problem])

    def check_reachable(self) -> str | None:
        try:
            auth = baseten_auth()
            status, body = auth.client(timeout=PREFLIGHT_TIMEOUT).request("GET", "/v1/models")
        except PortapackError as exc:
            return f"cannot reach Baseten's API: {exc}"
        if status in (401, 403):
            return (f"Baseten refused the API key from {auth.source} ({status}): run 'truss login' "
                    "with a valid key, or fix BASETEN_TRUSS_AUTH_API_KEY")
        if status != 200:
            return (f"Baseten's API at {auth.api_url} answered GET /v1/models with "
                    f"{status}{ApiClient.explain(body)}")
        return None

    def push_arguments(self) -> dict:
        return {"target_directory": str(self.build_dir), "model_name": self.spec.name,
                "publish": True, "promote": self.promote}

    def autoscaling(self) -> dict[str, int]:
        from portapack.targets import get_target

        return get_target("truss").autoscaling(self.project)

    def plan(self) -> Plan:
        from portapack.targets import get_target

        config = get_target("truss").context(self.project)["config"]
        settings = {"model_name": self.spec.name, "resources": config["resources"],
                    "predict_concurrency": config["runtime"]["predict_concurrency"],
                    "autoscaling": self.autoscaling(), "publish": True, "promote": self.promote}
        where = "the new deployment" + (" and the production environment" if self.promote else "")
        steps = [Step("push truss", dict(self.push_arguments())),
                 Step("set autoscaling", {"on": where, **self.autoscaling()})]
        return Plan(self.target, self.spec.name, steps, settings, list(self.spec.secrets))

    def run_step(self, step: Step, result: DeployResult) -> None:
        if step.action == "push truss":
            self.push(result)
        elif step.action == "set autoscaling":
            self.set_autoscaling()
        else:
            super().run_step(step, result)

    def push(self, result: DeployResult) -> None:
        import truss

        deployment = truss.push(**self.push_arguments())
        model_id = getattr(deployment, "model_id", None)
        deployment_id = getattr(deployment, "model_deployment_id", None)
        result.endpoint_id = model_id
        if model_id and deployment_id:
            self.pushed = (model_id, deployment_id)
        if model_id and (self.promote or not deployment_id):
            result.url = f"https://model-{model_id}.api.baseten.co/production/predict"
        elif model_id:  # published, not promoted: this deployment's own URL
            result.url = (f"https://model-{model_id}.api.baseten.co/deployment/"
                          f"{deployment_id}/predict")
        if result.url:
            result.sample_request = (f"curl -s -X POST {result.url} -H 'Authorization: Api-Key "
                                     "$BASETEN_API_KEY' -d '{...inputs...}'")

    def set_autoscaling(self) -> None:
        """PATCH the deployment's autoscaling_settings; a promoted deployment takes the
        production environment's settings (Baseten docs, "Environments"), so patch those too.
        Request bodies follow Baseten's management API reference (UpdateAutoscalingSettingsV1,
        UpdateEnvironmentRequestV1; https://docs.baseten.co/api-reference, checked 2026-12-03)."""
        if self.pushed is None:
            raise PortapackError("truss.push returned no model_id/model_deployment_id, so the "
                                 "autoscaling settings cannot be applied")
        model_id, deployment_id = self.pushed
        api = baseten_auth().client()
        body = self.autoscaling()
        api.expect("PATCH", f"/v1/models/{model_id}/deployments/{deployment_id}/autoscaling_settings",
                   body, ok=(200,))
        if self.promote:
            api.expect("PATCH", f"/v1/models/{model_id}/environments/production",
                       {"autoscaling_settings": body}, ok=(200,))
        self.say("  autoscaling: " + ", ".join(f"{k}={v}" for k, v in body.items()))
