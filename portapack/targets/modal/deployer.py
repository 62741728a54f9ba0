"""Modal: `modal deploy modal_app.py --name NAME`, with a timeout and a credentials check first."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
import tomllib
import urllib.parse
from pathlib import Path
from typing import Any

from portapack.deploying.base import Deployer, DeployResult, Plan, PreflightError, Step, missing_module
from portapack.errors import PortapackError
from portapack.targets import get_target

PREFLIGHT_TIMEOUT = 15.0  # seconds: an unreachable Modal fails preflight within this
DEFAULT_SERVER_URL = "https://api.modal.com"  # modal 1.6.4 modal/config.py "server_url"


def modal_profile() -> tuple[str, dict[str, Any]]:
    """The ~/.modal.toml path and the active profile's section (empty when there is none)."""
    path = Path(os.environ.get("MODAL_CONFIG_PATH", "~/.modal.toml")).expanduser()
    try:
        config = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return str(path), {}
    profile = os.environ.get("MODAL_PROFILE") or next(
        (name for name, section in config.items() if isinstance(section, dict)
         and section.get("active")), "default")
    section = config.get(profile)
    return str(path), section if isinstance(section, dict) else {}


def modal_credentials() -> str | None:
    """Where Modal would find a token (env or ~/.modal.toml profile), or None."""
    if os.environ.get("MODAL_TOKEN_ID") and os.environ.get("MODAL_TOKEN_SECRET"):
        return "MODAL_TOKEN_ID/MODAL_TOKEN_SECRET"
    path, section = modal_profile()
    return path if section.get("token_id") and section.get("token_secret") else None


def modal_server_url() -> str:
    """Modal's control-plane URL as the client resolves it: env, then profile, then default."""
    return os.environ.get("MODAL_SERVER_URL") or modal_profile()[1].get("server_url") \
        or DEFAULT_SERVER_URL


def probe_modal(timeout: float = PREFLIGHT_TIMEOUT) -> str | None:
    """Prove Modal answers and accepts the token, within ``timeout`` seconds; a problem or None.

    Modal's client retries an unreachable server for about a minute, so first one TCP connect
    (a refused port or a bad host fails at once), then `modal token info` (one authenticated
    RPC, TokenInfoGet) in a subprocess that is killed when the budget runs out.
    """
    url = modal_server_url()
    parts = urllib.parse.urlsplit(url)
    port = parts.port or (443 if parts.scheme == "https" else 80)
    start = time.monotonic()
    try:
        with socket.create_connection((parts.hostname or "", port), timeout=timeout / 3):
            pass
    except OSError as exc:
        return f"cannot reach Modal at {url} ({exc.strerror or exc}); check the network or MODAL_SERVER_URL"
    left = max(1.0, timeout - (time.monotonic() - start))
    try:
        done = subprocess.run([sys.executable, "-m", "modal", "token", "info"], capture_output=True,
                              text=True, timeout=left)
    except subprocess.TimeoutExpired:
        return (f"Modal at {url} did not answer `modal token info` within {timeout:.0f}s "
                "(a network that drops the connection, or a token Modal does not accept?)")
    if done.returncode != 0:
        tail = " ".join((done.stderr or done.stdout).strip().splitlines()[-2:])
        return (f"Modal at {url} failed `modal token info` with the token from "
                f"{modal_credentials()}: {tail[:300]}; run 'modal token new' or fix "
                "MODAL_TOKEN_ID/MODAL_TOKEN_SECRET")
    return None


class ModalDeployer(Deployer):
    target = "modal"
    install_hint = 'pip install "portapack[modal]"'

    def check_platform(self) -> list[str]:
        problems = missing_module("modal", "modal")
        if modal_credentials() is None:
            problems.append("no Modal token: set MODAL_TOKEN_ID and MODAL_TOKEN_SECRET, or run "
                            "'modal token new' (writes ~/.modal.toml)")
        return problems

    def preflight(self) -> None:
        """The offline checks, then :func:`probe_modal` before `modal deploy` runs."""
        super().preflight()
        problem = probe_modal(PREFLIGHT_TIMEOUT)
        if problem:
            raise PreflightError(self.target, [problem])

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
