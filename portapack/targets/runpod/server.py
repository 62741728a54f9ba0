"""RunPod server mode: a load-balancing endpoint (REST v2 ``type: LOAD_BALANCER``).

RunPod's load balancer sends requests straight to the worker's HTTP server on ``PORT`` and
polls ``GET /ping`` on ``PORT_HEALTH``: 200 healthy, 204 initializing, anything else unhealthy
(docs.runpod.io/serverless/load-balancing/overview and the OpenAPI ``EndpointType``, checked
2026-12-01). Such endpoints scale on ``REQUEST_COUNT`` only. Engines answer ``/health`` (not
``/ping``) and refuse connections while loading, so a tiny stdlib sidecar translates.
"""

from __future__ import annotations

import shlex
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from portapack.proof.server_runtime import ContainerServerRuntime
from portapack.targets.base import Note
from portapack.targets.runpod.target import RunpodTarget
from portapack.targets.servers import common_problems, server_context, server_of

if TYPE_CHECKING:
    from portapack.spec.loader import Project

LB_REQUEST_LIMIT_S = 330  # RunPod answers 524 after about 5.5 minutes on a load-balanced request
LB_URL = "https://{id}.api.runpod.ai"  # LoadBalancingRequestUrls.base in RunPod's OpenAPI doc


class RunpodServerTarget(RunpodTarget):
    runtime = ".server:RunpodServerRuntime"
    image_runtime = None  # the server runtime already runs the image in a container
    templates: ClassVar[dict[str, str]] = {
        "Dockerfile": "runpod/server/Dockerfile.j2",
        "ping.py": "runpod/server/ping.py.j2",
        ".dockerignore": "runpod/server/dockerignore.j2",
        "requirements.txt": "_shared/requirements.txt.j2",
        "endpoint.json": "runpod/endpoint.json.j2",
        "README.md": "runpod/server/README.md.j2",
    }

    def health_port(self, project: Project) -> int:
        return server_of(project).port + 1

    def base_image(self, project: Project) -> str:
        return project.spec.targets.runpod.base_image or f"python:{project.spec.python}-slim"

    def context(self, project: Project) -> dict[str, Any]:
        spec = project.spec
        ctx = server_context(project)
        base = self.base_image(project)
        ping = "python3 /opt/portapack/ping.py"
        ctx.update(
            base_image=base,
            clear_entrypoint=spec.targets.runpod.base_image is not None,
            pep668=False,
            system_packages=spec.system_packages,
            docker_env=self.image_env(project),
            build_commands=spec.build_steps,
            health_port=self.health_port(project),
            cmd=["sh", "-c", f"{ping} & exec {server_of(project).command}"],
            endpoint=self.endpoint(project),
        )
        return ctx

    def endpoint(self, project: Project, card_pools: dict[str, str] | None = None,
                 image: str | None = None) -> dict[str, Any]:
        """The queue endpoint's body turned into a load balancer: REQUEST_COUNT scaling (the only
        one RunPod allows for it), both ports exposed, PORT and PORT_HEALTH in env."""
        server = server_of(project)
        body = super().endpoint(project, card_pools, image)
        body["type"] = "LOAD_BALANCER"
        body["scaling"] = {"type": "REQUEST_COUNT", "requestCount": project.spec.scaling.concurrency}
        body["ports"] = [f"{server.port}/http", f"{self.health_port(project)}/http"]
        body["env"] = {"PORT": str(server.port), "PORT_HEALTH": str(self.health_port(project)),
                       **body["env"]}
        return body

    def validate(self, project: Project) -> list[str]:
        problems = super().validate(project) + common_problems(project)
        if "PORT" in project.spec.env or "PORT_HEALTH" in project.spec.env:
            problems.append("env: PORT and PORT_HEALTH are set from server.port on RunPod; "
                            "remove them from env")
        return problems

    def extra_notes(self, project: Project) -> list[Note]:
        notes = super().extra_notes(project)
        if project.spec.scaling.timeout > LB_REQUEST_LIMIT_S:
            notes.append(Note(self.name, "scaling.timeout", f"a load-balanced request ends after "
                              f"about {LB_REQUEST_LIMIT_S} s on RunPod (HTTP 524), whatever the "
                              f"endpoint timeout ({project.spec.scaling.timeout} s)"))
        return notes


class RunpodServerRuntime(ContainerServerRuntime):
    """The worker image in a real container: /ping on the health port, requests on the server
    port, both published on loopback, as RunPod's load balancer reaches them."""

    description = "the RunPod image in a real Docker container (PORT and /ping on PORT_HEALTH)"

    artifact = "the RunPod worker"

    def __init__(self, build_dir: Path, **kwargs: Any):
        super().__init__(build_dir, **kwargs)
        self.container: Any = None
        self.port = self.health = 0

    def start(self) -> None:
        from portapack.proof import engine
        from portapack.proof.runtimes.base import free_port

        spec = self.project.spec
        # --base-image, else the spec's, else the Dockerfile's own default (python:X.Y-slim).
        base = self.base_image or spec.targets.runpod.base_image
        tag = f"{spec.name}:portapack-runpod"
        engine.build_image(self.build_dir, tag, base_image=base)
        self.port, self.health = free_port(), free_port()
        inner = RunpodServerTarget().health_port(self.project)
        self.container = engine.docker_client().containers.run(
            tag, detach=True, ports={f"{self.server.port}/tcp": ("127.0.0.1", self.port),
                                     f"{inner}/tcp": ("127.0.0.1", self.health)})
        # 204 while the server starts is what RunPod expects; wait for 200.
        self.wait_ready(f"http://127.0.0.1:{self.health}/ping", "/ping never answered 200")


__all__ = ["RunpodServerTarget", "RunpodServerRuntime", "LB_URL", "shlex"]
