"""The KServe predictor image run as a real container, for ``portapack test --image``."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from portapack.proof import engine
from portapack.proof.runtimes.base import RuntimeFailed, free_port
from portapack.targets.kserve.manifest import HTTP_PORT
from portapack.targets.kserve.runtime import KserveRuntime


class DockerKserveRuntime(KserveRuntime):
    """The image with its own ENTRYPOINT and CMD (KServe's model server on 8080), as the
    InferenceService runs it, published on a loopback port."""

    target = "kserve-image"
    description = "the KServe predictor image in a real Docker container (POST /v1/models/NAME:predict)"

    def __init__(self, tag: str, project: Any, *, port: int | None = None):
        self.tag = tag
        self.project = project
        self.container: Any = None
        self.port = port or free_port()
        self.proc = None

    def start(self, timeout: float = 180) -> None:
        client = engine.docker_client()
        self.container = client.containers.run(
            self.tag, ports={f"{HTTP_PORT}/tcp": ("127.0.0.1", self.port)},
            detach=True, remove=False)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self.container.reload()
            if self.container.status == "exited":
                logs = self.container.logs().decode(errors="replace")[-3000:]
                self.stop()
                raise RuntimeFailed(f"container exited before it was ready:\n{logs}")
            if self.ready():
                return
            time.sleep(0.3)
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


def docker_runtime_factory(project, out: Path, base_image: str | None) -> Callable[[], DockerKserveRuntime]:
    """For ``portapack test --image``: build the image when the runtime is started."""

    def make() -> DockerKserveRuntime:
        tag = f"{project.spec.name}:portapack-kserve-test"
        engine.build_image(out / "kserve", tag, base_image=base_image)
        return DockerKserveRuntime(tag, project)

    return make
