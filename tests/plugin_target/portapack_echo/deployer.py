"""Deploying the echo artifact: copying it into ECHO_DEPLOY_DIR (a stand-in for a platform)."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from portapack.deploying.base import Deployer, DeployResult, Plan, Step


class EchoDeployer(Deployer):
    target = "echo"
    install_hint = "pip install portapack-echo"

    def check_platform(self) -> list[str]:
        if not os.environ.get("ECHO_DEPLOY_DIR"):
            return ["ECHO_DEPLOY_DIR is not set: export the folder to deploy into"]
        return []

    def plan(self) -> Plan:
        dest = str(Path(os.environ.get("ECHO_DEPLOY_DIR", "<ECHO_DEPLOY_DIR>")) / self.spec.name)
        return Plan(self.target, self.spec.name, [Step("copy artifact", {"to": dest})],
                    {"greeting": self.spec.targets.echo.greeting}, list(self.spec.secrets))

    def run_step(self, step: Step, result: DeployResult) -> None:
        dest = Path(step.detail["to"])
        shutil.copytree(self.build_dir, dest, dirs_exist_ok=True)
        result.url = dest.as_uri()
