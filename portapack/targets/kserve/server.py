"""KServe server mode: a ``server:`` project (vLLM, SGLang, any HTTP server) as a custom
predictor container of a plain InferenceService.

KServe's own ``kserve-vllmserver`` ClusterServingRuntime (config/runtimes/, 2026-07) is the
model: one container port, HTTP readiness and startup probes on the engine's health route
(the startup probe gives a long model load its time), ``/dev/shm`` as memory for GPU engines.
KServe routes the whole host to that port, so every route of the server is reachable as is.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from portapack.proof.server_runtime import ContainerServerRuntime
from portapack.targets.kserve.manifest import (
    PLACEHOLDER_IMAGE,
    PROBE_PERIOD_S,
    REMOTE_SCHEMES,
    inference_service,
    predictor_container,
)
from portapack.targets.kserve.target import KserveTarget
from portapack.targets.servers import common_problems, server_context, server_of

if TYPE_CHECKING:
    from portapack.spec.loader import Project



def server_container(project: Project, image: str) -> dict[str, Any]:
    """The engine's container: its port, health route as readiness and startup probes."""
    server = server_of(project)
    container = predictor_container(project, image)
    container["ports"] = [{"containerPort": server.port, "protocol": "TCP"}]

    def probe() -> dict[str, Any]:  # a fresh dict each: YAML would share one as an anchor
        return {"httpGet": {"path": server.health, "port": server.port},
                "periodSeconds": PROBE_PERIOD_S, "timeoutSeconds": 5}

    container["readinessProbe"] = probe()
    container["startupProbe"] = probe() | {
        "failureThreshold": max(1, math.ceil(server.startup_timeout / PROBE_PERIOD_S))}
    if project.spec.resources.gpu:  # engines share tensors between workers through /dev/shm
        container["volumeMounts"] = [{"name": "devshm", "mountPath": "/dev/shm"}]
    return container


def server_manifest(project: Project, image: str | None = None,
                    namespace: str | None = None) -> dict[str, Any]:
    image = image or PLACEHOLDER_IMAGE.format(name=project.spec.name)
    manifest = inference_service(project, image, namespace, server_container(project, image))
    if project.spec.resources.gpu:
        manifest["spec"]["predictor"]["volumes"] = [{"name": "devshm",
                                                     "emptyDir": {"medium": "Memory"}}]
    return manifest


class KserveServerTarget(KserveTarget):
    runtime = ".server:KserveServerRuntime"
    image_runtime = None  # the server runtime already runs the image in a container
    templates: ClassVar[dict[str, str]] = {
        "Dockerfile": "kserve/server/Dockerfile.j2",
        ".dockerignore": "kserve/dockerignore.j2",
        "requirements.txt": "_shared/requirements.txt.j2",
        "inferenceservice.yaml": "kserve/inferenceservice.yaml.j2",
        "README.md": "kserve/server/README.md.j2",
    }

    def context(self, project: Project) -> dict[str, Any]:
        spec = project.spec
        ctx = server_context(project)
        ctx.update(
            base_image=self.base_image(project),
            clear_entrypoint=spec.targets.kserve.base_image is not None,
            system_packages=spec.system_packages,
            docker_env=self.image_env(project),
            build_commands=spec.build_commands,
            storage_weights=[w for w in spec.weights if w.scheme in REMOTE_SCHEMES],
            secret_name=spec.targets.kserve.secret_name or spec.name,
            mode=spec.targets.kserve.mode,
            manifest=self.manifest(project),
        )
        return ctx

    def manifest(self, project: Project, image: str | None = None,
                 namespace: str | None = None) -> dict[str, Any]:
        return server_manifest(project, image, namespace)

    def validate(self, project: Project) -> list[str]:
        return super().validate(project) + common_problems(project)


class KserveServerRuntime(ContainerServerRuntime):
    """The predictor image in a real container, its port published on loopback, as KServe's
    ingress reaches it: every route straight to the server."""

    description = "the KServe predictor image in a real Docker container (the server's own port)"

    artifact = "the KServe predictor"

    def __init__(self, build_dir: Path, **kwargs: Any):
        super().__init__(build_dir, **kwargs)
        self.container: Any = None
        self.port = 0

    def start(self) -> None:
        from portapack.proof import engine
        from portapack.proof.runtimes.base import free_port

        spec = self.project.spec
        # --base-image, else the spec's, else the Dockerfile's own default (python:X.Y-slim).
        base = self.base_image or spec.targets.kserve.base_image
        tag = f"{spec.name}:portapack-kserve"
        engine.build_image(self.build_dir, tag, base_image=base)
        self.port = free_port()
        self.container = engine.docker_client().containers.run(
            tag, detach=True, ports={f"{self.server.port}/tcp": ("127.0.0.1", self.port)})
        self.wait_ready(f"{self.base_url}{self.server.health}",
                        f"{self.server.health} never answered 200 (the readiness probe)")
