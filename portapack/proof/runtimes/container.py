"""An artifact's image run as a real container on a loopback port (``portapack test --image``).

A target's image runtime subclasses :class:`ContainerRuntime` together with its own local
runtime (which knows the platform's routes): this base starts the container, waits until the
platform runtime's ``ready()``, and on stop keeps the container's whole output in ``log_path``
(the log ``portapack test`` saves beside its report) before removing it.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path
from typing import Any

from portapack.proof import engine
from portapack.proof.runtimes.base import RuntimeFailed, free_port


class ContainerRuntime:
    """Mixed in before a platform runtime: ``class DockerX(ContainerRuntime, XRuntime)``."""

    container_port: int  # the port the image serves on
    container_command: list[str] | None = None  # None: the image's own ENTRYPOINT/CMD

    def __init__(self, tag: str, *, port: int | None = None):
        self.tag = tag
        self.container: Any = None
        self.port = port or free_port()
        self.proc = None
        self.log_path = Path(tempfile.mkdtemp(prefix="portapack-container-")) / "container.log"

    def start(self, timeout: float = 180) -> None:
        client = engine.docker_client()
        self.container = client.containers.run(
            self.tag, self.container_command, ports={f"{self.container_port}/tcp": ("127.0.0.1", self.port)},
            detach=True, remove=False)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self.container.reload()
            if self.container.status == "exited":
                self.stop()
                raise RuntimeFailed(f"container exited before it was ready:\n{self.log_tail(40)}")
            if self.ready():  # type: ignore[attr-defined]  # the platform runtime's check
                return
            time.sleep(0.2)
        self.stop()
        raise RuntimeFailed(f"container not ready after {timeout:.0f}s:\n{self.log_tail(40)}")

    def stop(self) -> None:
        container, self.container = self.container, None
        if container is None:
            return
        try:
            self.log_path.write_bytes(container.logs())
        except Exception:  # noqa: BLE001 (a log we cannot read must not hide the real outcome)
            pass
        try:
            container.remove(force=True)
        except Exception:  # noqa: BLE001 (already gone)
            pass

    def log_tail(self, lines: int = 30) -> str:
        if self.container is not None:
            try:
                self.log_path.write_bytes(self.container.logs())
            except Exception:  # noqa: BLE001
                pass
        try:
            text = self.log_path.read_text(encoding="utf-8", errors="replace")
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-lines:])
