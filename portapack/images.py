"""Docker images of the RunPod artifact: build through the Docker SDK, run, test.

The SDK is imported lazily (``pip install "portapack[docker]"``); no engine means a clear
error, never a traceback.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .errors import PortapackError
from .runtimes.base import RuntimeFailed, free_port
from .runtimes.runpod import RunpodRuntime

PROXY_VARS = ("HTTP_PROXY", "HTTPS_PROXY", "NO_PROXY", "http_proxy", "https_proxy", "no_proxy")


class DockerUnavailable(PortapackError):
    """No Docker SDK or no reachable engine."""


@dataclass(frozen=True)
class ImageResult:
    tag: str
    size: int  # bytes
    base_size: int | None  # bytes of the base image, when it is local
    seconds: float


def docker_client() -> Any:
    try:
        import docker
    except ImportError:
        raise DockerUnavailable('the Docker SDK is not installed: pip install "portapack[docker]"') from None
    try:
        client = docker.from_env()
        client.ping()
    except Exception as exc:
        raise DockerUnavailable(
            "no Docker engine is reachable (checked DOCKER_HOST and /var/run/docker.sock): "
            f"start Docker and try again ({exc.__class__.__name__})") from None
    return client


def build_args(base_image: str | None) -> dict[str, str]:
    """BASE_IMAGE plus the host's proxy settings, so pip inside RUN reaches the same index."""
    args = {k: v for k, v in os.environ.items() if k in PROXY_VARS}
    if base_image:
        args["BASE_IMAGE"] = base_image
    return args


def build_image(build_dir: Path, tag: str, *, base_image: str | None = None,
                on_progress: Callable[[str], None] | None = None) -> ImageResult:
    """``docker build`` the artifact in ``build_dir`` through the SDK, streaming its log."""
    client = docker_client()
    started = time.perf_counter()
    log: list[str] = []
    try:
        for chunk in client.api.build(path=str(build_dir), tag=tag, rm=True, decode=True,
                                      buildargs=build_args(base_image), network_mode="host"):
            if "error" in chunk:
                error = chunk["error"].strip()
                hint = ""
                if any(w in error for w in ("registry-1.docker.io", "no such host", "pull access",
                                                "manifest unknown", "repository does not exist")):
                    hint = ("\nthe base image could not be pulled; pass --base-image with an image "
                            "this engine has (docker images), or set targets.runpod.base_image")
                raise PortapackError(f"docker build failed: {error}{hint}")
            text = chunk.get("stream") or chunk.get("status") or ""
            if text:
                log.append(text)
                if on_progress:
                    on_progress(text.rstrip("\n"))
    except PortapackError:
        raise
    except Exception as exc:  # the SDK's APIError/BuildError: name the cause
        raise PortapackError(f"docker build failed: {exc}") from None
    image = client.images.get(tag)
    base_size = None
    base = base_image or _dockerfile_base(build_dir)
    if base:
        try:
            base_size = client.images.get(base).attrs["Size"]
        except Exception:
            base_size = None
    return ImageResult(tag, image.attrs["Size"], base_size, time.perf_counter() - started)


def _dockerfile_base(build_dir: Path) -> str | None:
    for line in (build_dir / "Dockerfile").read_text().splitlines():
        if line.startswith("ARG BASE_IMAGE="):
            return line.split("=", 1)[1].strip()
    return None


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
        client = docker_client()
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
        build_image(out / "runpod", tag, base_image=base_image)
        return DockerRunpodRuntime(tag)

    return make
