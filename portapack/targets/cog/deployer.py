"""Replicate: `cog push r8.im/OWNER/NAME` through the Cog CLI, then create or update a
deployment (hardware, min/max instances) through Replicate's HTTP API."""

from __future__ import annotations

import json
import os
import shlex
import shutil
import subprocess
import threading

from portapack.deploying.base import ApiClient, Deployer, DeployResult, Plan, PreflightError, Step
from portapack.errors import PortapackError
from portapack.targets.artifacts import example_input

API_URL = "https://api.replicate.com/v1"
# Preflight's account check must answer fast: an unreachable API fails within this.
PREFLIGHT_TIMEOUT = 15


# Shown in a plan when no owner is set (never "None"); preflight says how to set it.
OWNER_PLACEHOLDER = "<owner>"
NO_OWNER = "no Replicate owner: pass --owner or set targets.cog.owner in the spec"


class CogDeployer(Deployer):
    target = "cog"
    install_hint = "install the cog CLI from https://github.com/replicate/cog/releases"

    @property
    def owner(self) -> str | None:
        return self.options.owner or self.spec.targets.cog.owner

    @property
    def model(self) -> str:
        return f"r8.im/{self.owner or OWNER_PLACEHOLDER}/{self.spec.name}"

    def deployment(self) -> dict:
        return self.built_json("replicate-deployment.json")

    def check_platform(self) -> list[str]:
        problems = []
        if shutil.which("cog") is None:
            problems.append("the cog CLI is not installed (a binary from "
                            "https://github.com/replicate/cog/releases; it needs Docker)")
        else:
            from portapack.proof.engine import DockerUnavailable, docker_client

            try:
                docker_client()
            except DockerUnavailable as exc:
                problems.append(f"cog push builds with Docker: {exc}")
        if not os.environ.get("REPLICATE_API_TOKEN"):
            problems.append("REPLICATE_API_TOKEN is not set: create a token at "
                            "replicate.com/account/api-tokens and export it")
        if not self.owner:
            problems.append(NO_OWNER)
        return problems

    def preflight(self) -> None:
        """Local checks, then one cheap authenticated call (GET /v1/hardware) that proves the
        token and that the account can run the chosen hardware, before anything is pushed."""
        super().preflight()
        problems = self.check_account()
        if problems:
            raise PreflightError(self.target, problems)

    def check_account(self) -> list[str]:
        hardware = self.deployment()["hardware"]
        api = ApiClient(self.api_url, os.environ.get("REPLICATE_API_TOKEN", ""),
                        timeout=PREFLIGHT_TIMEOUT)
        try:
            status, listed = api.request("GET", "/hardware")
        except PortapackError as exc:
            return [f"Replicate's API cannot be reached ({exc}); check the network, or "
                    "PORTAPACK_REPLICATE_API_URL if set"]
        if status in (401, 403):
            return [f"Replicate refused REPLICATE_API_TOKEN (HTTP {status}): create a token at "
                    "replicate.com/account/api-tokens and export it"]
        if status != 200 or not isinstance(listed, list):
            return [f"GET {self.api_url}/hardware answered {status}: {str(listed)[:300]}"]
        skus = sorted(h.get("sku", "") for h in listed if isinstance(h, dict))
        if hardware not in skus:
            return [f"hardware {hardware} is not available to this Replicate account (it has: "
                    f"{', '.join(skus)}); set targets.cog.hardware to one of them"]
        return []

    def plan(self) -> Plan:
        dep = self.deployment()
        settings = {"model": self.model, "hardware": dep["hardware"],
                    "min_instances": dep["min_instances"], "max_instances": dep["max_instances"],
                    "api": self.api_url}
        if not self.owner:
            settings["owner"] = f"{OWNER_PLACEHOLDER} ({NO_OWNER})"
        return Plan(self.target, self.spec.name, [
            Step("create model if missing",
                 {"model": f"{self.owner or OWNER_PLACEHOLDER}/{self.spec.name}"}),
            Step("cog push", {"command": f"cog push {self.model}", "cwd": str(self.build_dir)}),
            Step("create or update deployment", {"name": dep["name"], "hardware": dep["hardware"]}),
        ], settings, list(self.spec.secrets))

    @property
    def api_url(self) -> str:
        return os.environ.get("PORTAPACK_REPLICATE_API_URL", API_URL)

    def api(self) -> ApiClient:
        return ApiClient(self.api_url, os.environ.get("REPLICATE_API_TOKEN", ""))

    def run_step(self, step: Step, result: DeployResult) -> None:
        owner, name = self.owner, self.spec.name
        if step.action == "create model if missing":
            status, _ = self.api().request("GET", f"/models/{owner}/{name}")
            if status == 404:
                self.api().expect("POST", "/models", {
                    "owner": owner, "name": name, "visibility": "private",
                    "hardware": self.deployment()["hardware"]})
                self.say(f"created model {owner}/{name}")
            elif status != 200:
                raise PortapackError(f"GET /models/{owner}/{name} answered {status}")
        elif step.action == "cog push":
            self.cog_push()
        elif step.action == "create or update deployment":
            model = self.api().expect("GET", f"/models/{owner}/{name}")
            version = (model.get("latest_version") or {}).get("id")
            if not version:
                raise PortapackError(f"{owner}/{name} has no version after cog push")
            dep = self.deployment()
            body = {"version": version, "hardware": dep["hardware"],
                    "min_instances": dep["min_instances"], "max_instances": dep["max_instances"]}
            status, _ = self.api().request("GET", f"/deployments/{owner}/{dep['name']}")
            if status == 200:
                self.api().expect("PATCH", f"/deployments/{owner}/{dep['name']}", body)
                self.say(f"updated deployment {owner}/{dep['name']}")
            else:
                self.api().expect("POST", "/deployments",
                                  {"name": dep["name"], "model": f"{owner}/{name}", **body})
                self.say(f"created deployment {owner}/{dep['name']}")
            result.endpoint_id = f"{owner}/{dep['name']}"
            result.url = f"{API_URL}/deployments/{owner}/{dep['name']}/predictions"
            example = example_input(self.project)
            body_text = shlex.quote(json.dumps({"input": example}))
            result.sample_request = (f"curl -s -X POST {result.url} -H 'Authorization: Bearer "
                                     f"$REPLICATE_API_TOKEN' -H 'Content-Type: application/json' "
                                     f"-d {body_text}")
        else:
            super().run_step(step, result)

    def cog_push(self) -> None:
        """Run `cog push`, streaming its output; killed once --timeout has passed."""
        proc = subprocess.Popen(["cog", "push", self.model], cwd=self.build_dir, text=True,
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        watchdog = threading.Timer(self.options.timeout, proc.kill)
        watchdog.start()
        tail: list[str] = []
        try:
            assert proc.stdout
            for line in proc.stdout:
                self.say(f"  {line.rstrip()}")
                tail = (tail + [line.rstrip()])[-5:]
            code = proc.wait()
        finally:
            timed_out = not watchdog.is_alive() and proc.returncode is not None and \
                proc.returncode < 0
            watchdog.cancel()
        if timed_out:
            raise PortapackError(f"cog push did not finish within {self.options.timeout:.0f}s "
                                 "and was stopped")
        if code != 0:
            raise PortapackError(f"cog push exited with {code}: " + "\n".join(tail))
