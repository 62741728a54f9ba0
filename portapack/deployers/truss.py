"""Baseten: push the Truss through truss's Python API, publish, promote on request."""

from __future__ import annotations

import os
from pathlib import Path

from .base import Deployer, DeployResult, Plan, Step, missing_module


def truss_credentials() -> str | None:
    if os.environ.get("BASETEN_TRUSS_AUTH_API_KEY") and os.environ.get("BASETEN_TRUSS_AUTH_REMOTE_URL"):
        return "BASETEN_TRUSS_AUTH_API_KEY/BASETEN_TRUSS_AUTH_REMOTE_URL"
    path = Path(os.environ.get("USER_TRUSSRC_PATH", "~/.trussrc")).expanduser()
    return str(path) if path.is_file() else None


class TrussDeployer(Deployer):
    target = "truss"
    install_hint = 'pip install "portapack[truss]"'

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

    def push_arguments(self) -> dict:
        return {"target_directory": str(self.build_dir), "model_name": self.spec.name,
                "publish": True, "promote": self.promote}

    def plan(self) -> Plan:
        from ..targets import get_target

        config = get_target("truss").context(self.project)["config"]
        settings = {"model_name": self.spec.name, "resources": config["resources"],
                    "predict_concurrency": config["runtime"]["predict_concurrency"],
                    "publish": True, "promote": self.promote}
        return Plan(self.target, self.spec.name, [Step("push truss", dict(self.push_arguments()))],
                    settings, list(self.spec.secrets))

    def run_step(self, step: Step, result: DeployResult) -> None:
        import truss

        deployment = truss.push(**self.push_arguments())
        model_id = getattr(deployment, "model_id", None)
        deployment_id = getattr(deployment, "model_deployment_id", None)
        result.endpoint_id = model_id
        if model_id and (self.promote or not deployment_id):
            result.url = f"https://model-{model_id}.api.baseten.co/production/predict"
        elif model_id:  # published, not promoted: this deployment's own URL
            result.url = (f"https://model-{model_id}.api.baseten.co/deployment/"
                          f"{deployment_id}/predict")
        if result.url:
            result.sample_request = (f"curl -s -X POST {result.url} -H 'Authorization: Api-Key "
                                     "$BASETEN_API_KEY' -d '{...inputs...}'")
