"""The RunPod image run as a real container, for ``portapack test --image``."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from portapack.proof import engine
from portapack.proof.runtimes.container import ContainerRuntime
from portapack.targets.runpod.runtime import RunpodRuntime


class DockerRunpodRuntime(ContainerRuntime, RunpodRuntime):
    """The RunPod image run as a container, serving RunPod's local API on a loopback port."""

    target = "runpod-image"
    description = "the RunPod image in a real Docker container (POST /runsync)"
    container_port = 8000
    container_command = ["python", "-u", "handler.py", "--rp_serve_api", "--rp_api_host", "0.0.0.0",
                         "--rp_api_port", "8000"]


def docker_runtime_factory(project, out: Path, base_image: str | None) -> Callable[[], DockerRunpodRuntime]:
    """For ``portapack test --image``: build the image when the runtime is started."""

    def make() -> DockerRunpodRuntime:
        tag = f"{project.spec.name}:portapack-test"
        engine.build_image(out / "runpod", tag, base_image=base_image)
        return DockerRunpodRuntime(tag)

    return make
