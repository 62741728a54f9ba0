"""The RunPod image run as a real container, for ``portapack test --image``."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from portapack.proof import engine
from portapack.proof.runtimes.base import RuntimeFailed, free_port
from portapack.targets.runpod.runtime import RunpodRuntime


class DockerRunpodRuntime(RunpodRuntime):
    """The RunPod image run as a container, serving RunPod's local API on a loopback port."""

    target = "runpod-image"
    description = "the RunPod image in a real Docker container (POST /runsync)"

    def __init__(self, tag: str, *, port: int | None = None):
        self.tag = tag
        self.container: Any = None
        self.port = port or free_port()
        self.proc = None

    def start(self, timeout: float = 120) -> None:
        client = engine.docker_client()
        self.container = client.containers.run(
            self.tag, ["python", "-u", "handler.py", "--rp_serve_api", "--rp_api_host", "0.0.0.0",
                       "--rp_api_port", "8000"],
            ports={"8000/tcp": ("127.0.0.1", self.port)}, detach=True, remove=False)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self.container.reload()
            if self.container.status == "exited":
                logs = self.container.logs().decode(errors="replace")[-3000:]
                self.stop()
                raise RuntimeFailed(f"container exited before it was ready:\n{logs}")
            if self.ready():
                return
            time.sleep(0.2)
        self.stop()
        raise RuntimeFailed(f"container not ready after {timeout:.0f}s")

    def stop(self) -> None:
        container, self.container = self.container, None
        if container is not None:
            try:
                container.remove(force=True)
            except Exception:
                pass

    def log_tail(self, lines: int = 30) -> str:
        return ""


def docker_runtime_factory(project, out: Path, base_image: str | None) -> Callable[[], DockerRunpodRuntime]:
    """For ``portapack test --image``: build the image when the runtime is started."""

    def make() -> DockerRunpodRuntime:
        tag = f"{project.spec.name}:portapack-test"
        engine.build_image(out / "runpod", tag, base_image=base_image)
        return DockerRunpodRuntime(tag)

    return make
