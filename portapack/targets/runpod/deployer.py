"""RunPod: build the worker image, push it, then create or update the serverless endpoint
through RunPod's REST API v2 (``https://api.runpod.io/v2``, Bearer RUNPOD_API_KEY).

v1 (rest.runpod.io/v1) answers 410 Gone since 2026-11-15 (RunPod's release notes of 2026-08-18)
and the runpod SDK's create_endpoint still uses GraphQL (runpod-python 1.12.0,
runpod/api/ctl_commands.py; read 2026-12-01), so the v2 routes are called directly. Bodies
follow RunPod's OpenAPI document (2026-08-20): no template is used, because a template is
copied into an endpoint once and later template edits never reach it; the endpoint itself
carries the image, env and disk, and every deploy PATCHes it.
"""

from __future__ import annotations

import hashlib
import json
import os
import shlex
from typing import Any

from portapack.building.builder import project_digest
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
from portapack.proof.engine import push_image
from portapack.targets.artifacts import example_input
from portapack.targets.runpod.target import RunpodTarget, fallback_card_pools, select_gpu

API_URL = "https://api.runpod.io/v2"
PREFLIGHT_TIMEOUT = 10.0  # seconds: an unreachable API fails preflight well within 15 s
JOB_URL = "https://api.runpod.ai/v2/{id}/runsync"  # the job API is unchanged in v2


def api_url() -> str:
    """The v2 root: ``PORTAPACK_RUNPOD_API_URL`` (e.g. a local stand-in) or RunPod's."""
    return os.environ.get("PORTAPACK_RUNPOD_API_URL", API_URL).rstrip("/")


def fetch_gpu_catalog(base_url: str, api_key: str, timeout: float = 15) -> list[dict]:
    """``GET {base_url}/catalog/gpus``: every GPU type with its serverless ``pool`` and
    ``price`` (ListGpuTypesResponse.gpus). Raises :class:`PortapackError` on any failure."""
    found = ApiClient(base_url, api_key, timeout=timeout).expect("GET", "/catalog/gpus")
    if not isinstance(found, dict) or not isinstance(found.get("gpus"), list):
        raise PortapackError(f"GET {base_url}/catalog/gpus: no 'gpus' list in the answer")
    return found["gpus"]


def catalog_pools(gpus: list[dict]) -> dict[str, str]:
    """GPU type id -> serverless pool, for the types that are in one."""
    return {g["id"]: g["pool"] for g in gpus if g.get("pool")}


class RunpodDeployer(Deployer):
    target = "runpod"
    install_hint = 'pip install "portapack[runpod,docker]"'

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.card_pools: dict[str, str] | None = None  # the live catalog, once preflight read it

    @property
    def registry(self) -> str | None:
        return self.options.registry or self.spec.targets.runpod.registry

    @property
    def image(self) -> str:
        """The tag names what the build holds (the project digest) and the base it is built
        on, so a dry run before any build already shows the tag the deploy will push."""
        registry = self.registry or "<registry>"
        tag = image_tag(project_digest(self.project), self.options.base_image)
        return f"{registry}/{self.spec.name}:{tag}"

    def body(self) -> dict[str, Any]:
        """The create body: the build's endpoint.json, with the image and, once preflight read
        the live catalog, its pools."""
        body = self.built_json("endpoint.json")
        body["image"] = self.image
        if self.card_pools is not None and self.spec.resources.gpu:
            body["gpu"] = RunpodTarget().endpoint(self.project, self.card_pools)["gpu"]
        return body

    def check_platform(self) -> list[str]:
        problems = missing_module("docker", "docker")
        if not problems:
            from portapack.proof.engine import DockerUnavailable, docker_client

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

    def preflight(self) -> None:
        """The local checks, then one cheap authenticated call (GET /catalog/gpus) proving the
        key works, before anything is built or pushed. Its answer is the live GPU map."""
        super().preflight()
        url = api_url()
        try:
            gpus = fetch_gpu_catalog(url, os.environ["RUNPOD_API_KEY"], PREFLIGHT_TIMEOUT)
        except PortapackError as exc:
            text = str(exc)
            if " answered 401" in text or " answered 403" in text:
                problem = ("RUNPOD_API_KEY was refused by RunPod's API (GET /catalog/gpus "
                           f"answered {text.split(' answered ')[1][:3]}): create a new key in "
                           "RunPod's console (Settings > API Keys) and export it")
            elif "cannot connect" in text:
                problem = f"RunPod's API at {url} cannot be reached: {text.split(': ', 1)[1]}"
            else:
                problem = f"RunPod's API did not accept the key check: {text}"
            raise PreflightError(self.target, [problem]) from None
        pools = catalog_pools(gpus)
        if self.spec.resources.gpu:
            try:
                select_gpu(self.spec.resources.gpu, self.spec.targets.runpod.gpu_type_ids, pools)
            except ValueError as exc:
                raise PreflightError(self.target, [f"{exc} (RunPod's live catalog)"]) from None
        self.card_pools = pools

    def plan(self) -> Plan:
        body = self.body()
        settings: dict[str, Any] = {"type": body["type"]}
        gpu = self.spec.resources.gpu
        if gpu:
            pools = self.card_pools or fallback_card_pools()
            chosen = select_gpu(gpu, self.spec.targets.runpod.gpu_type_ids, pools)
            settings |= {"gpu": body["gpu"], "cards allowed": chosen.allowed,
                         "gpu map": "live catalog" if self.card_pools else "build-time table"}
        else:
            settings["cpu"] = body["cpu"]
        settings |= {k: body[k] for k in ("workers", "scaling", "timeout", "flashboot")}
        settings |= {"image": self.image, "api": api_url()}
        return Plan(self.target, self.spec.name, [
            Step("build image", {"tag": self.image, "context": str(self.build_dir)}),
            Step("push image", {"image": self.image}),
            Step("create or update endpoint", {"name": self.spec.name,
                                               "env": sorted(body.get("env", {}))}),
        ], settings, list(self.spec.secrets))

    def api(self) -> ApiClient:
        return ApiClient(api_url(), os.environ.get("RUNPOD_API_KEY", ""))

    def run_step(self, step: Step, result: DeployResult) -> None:
        if step.action == "build image":
            from portapack.proof.engine import build_image

            build_image(self.build_dir, self.image, base_image=self.options.base_image,
                        on_progress=self.say)
        elif step.action == "push image":
            push_image(self.image, self.say)
        elif step.action == "create or update endpoint":
            endpoint = self.upsert_endpoint()
            result.endpoint_id = endpoint["id"]
            if self.spec.server is not None:  # a load balancer: requests go to the server
                from portapack.targets.runpod.server import LB_URL

                route = self.spec.server.routes[0]  # LoadBalancingRequestUrls.base + a route
                base = (endpoint.get("requestUrls") or {}).get("base")
                result.url = (base or LB_URL.format(id=endpoint["id"])).rstrip("/") + route
                example = next((e.body for e in self.spec.examples
                                if getattr(e, "route", None) == route and e.body), {})
                body = shlex.quote(json.dumps(example))
            else:
                result.url = (endpoint.get("requestUrls") or {}).get("runSync") or JOB_URL.format(
                    id=endpoint["id"])
                body = shlex.quote(json.dumps({"input": example_input(self.project)}))
            result.sample_request = (f"curl -s {result.url} -H 'Authorization: Bearer "
                                     f"$RUNPOD_API_KEY' -H 'Content-Type: application/json' -d {body}")
        else:
            super().run_step(step, result)

    def upsert_endpoint(self) -> dict[str, Any]:
        """PATCH the endpoint of this name (the image and every setting, each deploy), or
        create it. Names are not unique on RunPod: the lowest id is updated, deterministically."""
        api, body = self.api(), self.body()
        found = api.expect("GET", "/serverless") or {}
        matches = sorted((e for e in found.get("endpoints", []) if e.get("name") == body["name"]),
                         key=lambda e: str(e.get("id")))
        if not matches:
            created = api.expect("POST", "/serverless", body)
            self.say(f"created endpoint {created['id']}")
            return created
        current = matches[0]
        family = "cpu" if current.get("cpu") else "gpu"
        if (family == "cpu") != ("cpu" in body):
            raise PortapackError(
                f"endpoint {current['id']} ({body['name']}) is a {family.upper()} endpoint and "
                "RunPod cannot change an endpoint's compute family: delete it (console, or "
                f"DELETE /v2/serverless/{current['id']}) and deploy again")
        update = {k: v for k, v in body.items() if k != "type"}  # type is fixed at create
        updated = api.expect("PATCH", f"/serverless/{current['id']}", update)
        self.say(f"updated endpoint {current['id']}")
        return dict(updated or {}, id=current["id"])


def image_tag(build_digest: str, base_image: str | None) -> str:
    """The tag names what is in the image: the build, and the base it was built on."""
    return hashlib.sha256(f"{build_digest}|{base_image or ''}".encode()).hexdigest()[:12]

