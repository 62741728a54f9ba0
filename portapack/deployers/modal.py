"""Modal: `modal deploy modal_app.py --name NAME`, with a timeout and a credentials check first."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tomllib
from pathlib import Path

from ..errors import PortapackError
from ..targets import get_target
from .base import Deployer, DeployResult, Plan, Step, missing_module


def modal_credentials() -> str | None:
    """Where Modal would find a token (env or ~/.modal.toml profile), or None."""
    if os.environ.get("MODAL_TOKEN_ID") and os.environ.get("MODAL_TOKEN_SECRET"):
        return "MODAL_TOKEN_ID/MODAL_TOKEN_SECRET"
    path = Path(os.environ.get("MODAL_CONFIG_PATH", "~/.modal.toml")).expanduser()
    try:
        config = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    profile = os.environ.get("MODAL_PROFILE") or next(
        (name for name, section in config.items() if isinstance(section, dict)
         and section.get("active")), "default")
    section = config.get(profile) or {}
    return str(path) if section.get("token_id") and section.get("token_secret") else None


class ModalDeployer(Deployer):
    target = "modal"
    install_hint = 'pip install "portapack[modal]"'

    def check_platform(self) -> list[str]:
        problems = missing_module("modal", "modal")
        if modal_credentials() is None:
            problems.append("no Modal token: set MODAL_TOKEN_ID and MODAL_TOKEN_SECRET, or run "
                            "'modal token new' (writes ~/.modal.toml)")
        return problems

    def command(self) -> list[str]:
        return [sys.executable, "-m", "modal", "deploy", "modal_app.py", "--name", self.spec.name]

    def plan(self) -> Plan:
        settings = {"app": self.spec.name, **get_target("modal").cls_values(self.project)}
        if self.spec.scaling.concurrency > 1:
            settings["max_inputs"] = self.spec.scaling.concurrency
        return Plan(self.target, self.spec.name,
                    [Step("deploy app", {"command": " ".join(["modal", *self.command()[3:]]),
                                         "cwd": str(self.build_dir)})],
                    settings, list(self.spec.secrets))

    def run_step(self, step: Step, result: DeployResult) -> None:
        try:
            done = subprocess.run(self.command(), cwd=self.build_dir, capture_output=True,
                                  text=True, timeout=self.options.timeout)
        except subprocess.TimeoutExpired:
            raise PortapackError(f"modal deploy did not finish within {self.options.timeout:.0f}s "
                                 "(no network, or a token Modal does not accept?)") from None
        output = done.stdout + done.stderr
        for line in output.splitlines():
            self.say(f"  {line}")
        if done.returncode != 0:
            tail = "\n".join(output.strip().splitlines()[-5:])
            raise PortapackError(f"modal deploy exited with {done.returncode}: {tail}")
        urls = re.findall(r"https://[\w.\-/]+\.modal\.run[\w/\-]*", output)
        result.url = urls[0] if urls else f"https://modal.com/apps (app {self.spec.name})"
        if urls:
            result.sample_request = (f"curl -s -X POST {urls[0]} -H 'Content-Type: "
                                     "application/json' -d '{...inputs...}'")
