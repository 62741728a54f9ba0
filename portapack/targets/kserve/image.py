"""The KServe predictor image run as a real container, for ``portapack test --image``."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from portapack.proof import engine
from portapack.proof.runtimes.container import ContainerRuntime
from portapack.targets.kserve.manifest import HTTP_PORT
from portapack.targets.kserve.runtime import KserveRuntime


class DockerKserveRuntime(ContainerRuntime, KserveRuntime):
    """The image with its own ENTRYPOINT and CMD (KServe's model server on 8080), as the
    InferenceService runs it, published on a loopback port."""

    target = "kserve-image"
    description = "the KServe predictor image in a real Docker container (POST /v1/models/NAME:predict)"
    container_port = HTTP_PORT

    def __init__(self, tag: str, project: Any, *, port: int | None = None):
        super().__init__(tag, port=port)
        self.project = project


def docker_runtime_factory(project, out: Path, base_image: str | None) -> Callable[[], DockerKserveRuntime]:
    """For ``portapack test --image``: build the image when the runtime is started."""

    def make() -> DockerKserveRuntime:
        tag = f"{project.spec.name}:portapack-kserve-test"
        engine.build_image(out / "kserve", tag, base_image=base_image)
        return DockerKserveRuntime(tag, project)

    return make
