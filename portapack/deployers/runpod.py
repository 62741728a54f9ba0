"""RunPod: build the worker image, push it, then create or update the template and the
serverless endpoint through RunPod's REST API (JSON bodies, Bearer RUNPOD_API_KEY)."""

from __future__ import annotations

import hashlib
import json
import os
import shlex
from typing import Any

from ..build import read_marker
from ..errors import PortapackError
from ..targets.base import example_input
from .base import ApiClient, Deployer, DeployResult, Plan, Step, missing_module

API_URL = "https://rest.runpod.io/v1"


class RunpodDeployer(Deployer):
    target = "runpod"
    install_hint = 'pip install "portapack[runpod,docker]"'

    @property
    def registry(self) -> str | None:
        return self.options.registry or self.spec.targets.runpod.registry

    @property
    def image(self) -> str:
        marker = read_marker(self.build_dir) or {}
        registry = self.registry or "<registry>"
        return f"{registry}/{self.spec.name}:{image_tag(marker.get('digest', ''), self.options.base_image)}"

    def bodies(self) -> dict[str, Any]:
        """The template and endpoint bodies the build wrote (endpoint.json), with the image."""
        bodies = self.built_json("endpoint.json")
        bodies["template"]["imageName"] = self.image
        return bodies

    def check_platform(self) -> list[str]:
        problems = missing_module("docker", "docker")
        if not problems:
            from ..images import DockerUnavailable, docker_client

            try:
                docker_client()
            except DockerUnavailable as exc:
                problems.append(str(exc))
        if not os.environ.get("RUNPOD_API_KEY"):
            problems.append("RUNPOD_API_KEY is not set: create a key in RunPod's console "
                            "(Settings > API Keys) and export it")
        if not self.registry:
            problems.append("no registry to push the image to: pass --registry REGISTRY/NAMESPACE "
                            "or set targets.runpod.registry in the spec")
        return problems

    def plan(self) -> Plan:
        bodies = self.bodies()
        endpoint, template = bodies["endpoint"], bodies["template"]
        settings = {k: endpoint[k] for k in ("computeType", "gpuTypeIds", "gpuCount", "workersMin",
                                             "workersMax", "idleTimeout", "executionTimeoutMs",
                                             "flashboot") if k in endpoint}
        settings["image"] = self.image
        settings["api"] = self.api_url
        return Plan(self.target, self.spec.name, [
            Step("build image", {"tag": self.image, "context": str(self.build_dir)}),
            Step("push image", {"image": self.image}),
            Step("create or update template", {"name": template["name"],
                                               "env": sorted(template["env"])}),
            Step("create or update endpoint", {"name": endpoint["name"]}),
        ], settings, list(self.spec.secrets))

    @property
    def api_url(self) -> str:
        return os.environ.get("PORTAPACK_RUNPOD_API_URL", API_URL)

    def api(self) -> ApiClient:
        return ApiClient(self.api_url, os.environ.get("RUNPOD_API_KEY", ""))

    def run_step(self, step: Step, result: DeployResult) -> None:
        if step.action == "build image":
            from ..images import build_image

            build_image(self.build_dir, self.image, base_image=self.options.base_image,
                        on_progress=self.say)
        elif step.action == "push image":
            push_image(self.image, self.say)
        elif step.action == "create or update template":
            self.template_id = self.upsert_template()
        elif step.action == "create or update endpoint":
            endpoint_id = self.upsert_endpoint(self.template_id)
            result.endpoint_id = endpoint_id
            result.url = f"https://api.runpod.ai/v2/{endpoint_id}/runsync"
            example = example_input(self.project)
            body = shlex.quote(json.dumps({"input": example}))
            result.sample_request = (f"curl -s {result.url} -H 'Authorization: Bearer "
                                     f"$RUNPOD_API_KEY' -H 'Content-Type: application/json' -d {body}")
        else:
            super().run_step(step, result)

    def upsert_template(self) -> str:
        api, body = self.api(), self.bodies()["template"]
        found = api.expect("GET", "/templates?includeEndpointBoundTemplates=true")
        existing = next((t for t in found or [] if t.get("name") == body["name"]), None)
        if existing:
            update = {k: v for k, v in body.items() if k not in ("category", "isServerless")}
            api.expect("PATCH", f"/templates/{existing['id']}", update)
            self.say(f"updated template {existing['id']}")
            return existing["id"]
        created = api.expect("POST", "/templates", body)
        self.say(f"created template {created['id']}")
        return created["id"]

    def upsert_endpoint(self, template_id: str) -> str:
        api = self.api()
        body = dict(self.bodies()["endpoint"], templateId=template_id)
        found = api.expect("GET", "/endpoints")
        matches = sorted((e for e in found or [] if e.get("name") == body["name"]),
                         key=lambda e: str(e.get("id")))
        if matches:  # names are not unique on RunPod: update the first, deterministically
            update = {k: v for k, v in body.items() if k != "computeType"}
            api.expect("PATCH", f"/endpoints/{matches[0]['id']}", update)
            self.say(f"updated endpoint {matches[0]['id']}")
            return matches[0]["id"]
        created = api.expect("POST", "/endpoints", body)
        self.say(f"created endpoint {created['id']}")
        return created["id"]


def image_tag(build_digest: str, base_image: str | None) -> str:
    """The tag names what is in the image: the build, and the base it was built on."""
    return hashlib.sha256(f"{build_digest}|{base_image or ''}".encode()).hexdigest()[:12]


def push_image(image: str, say) -> None:
    """``docker push`` through the SDK, with progress; an error in the stream fails the step."""
    from ..images import docker_client

    repository, _, tag = image.rpartition(":")
    last = None
    for chunk in docker_client().images.push(repository, tag=tag, stream=True, decode=True):
        if "error" in chunk:
            raise PortapackError(f"docker push failed: {chunk['error']}")
        status = chunk.get("status")
        if status and status != last and not chunk.get("progressDetail"):
            say(f"  {status}" + (f" {chunk['id']}" if chunk.get("id") else ""))
            last = status
