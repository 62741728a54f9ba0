"""The Docker engine: a client through the Docker SDK, and image builds with BuildKit.

Used by the targets whose artifact is an image (RunPod) or whose CLI builds one (Cog).

The SDK is imported lazily (``pip install "portapack[docker]"``); no engine means a clear
error, never a traceback.
"""

from __future__ import annotations

import functools
import os
import re
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from portapack.errors import PortapackError

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
                on_progress: Callable[[str], None] | None = None,
                no_cache: bool = False) -> ImageResult:
    """``docker build`` the artifact in ``build_dir`` with BuildKit, streaming its log.

    BuildKit, not the Docker SDK: the Dockerfile's ``RUN --mount=type=cache`` (uv's download
    cache, kept across builds) needs it, and the SDK's ``images.build`` only drives the
    legacy builder (BuildKit over the Engine API needs a gRPC session the SDK lacks). So the
    docker CLI runs it, which also honours DOCKER_HOST/DOCKER_CONTEXT like the SDK.
    """
    client = docker_client()
    command = [*buildkit_command(), "--progress=plain", "--network=host", "--tag", tag]
    for key, value in build_args(base_image).items():
        command += ["--build-arg", f"{key}={value}"]
    if no_cache:
        command.append("--no-cache")
    command.append(str(build_dir))
    started = time.perf_counter()
    log: list[str] = []
    env = dict(os.environ, DOCKER_BUILDKIT="1")
    try:
        proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                text=True, errors="replace", env=env)
    except OSError as exc:
        raise PortapackError(f"docker build failed: {exc}") from None
    assert proc.stdout is not None
    for line in proc.stdout:
        log.append(line)
        if on_progress:
            on_progress(line.rstrip("\n"))
    if proc.wait() != 0:
        raise PortapackError(f"docker build failed: {_build_error(log, base_image)}")
    image = client.images.get(tag)
    base_size = None
    base = base_image or _dockerfile_base(build_dir)
    if base:
        try:
            base_size = client.images.get(base).attrs["Size"]
        except Exception:
            base_size = None
    return ImageResult(tag, image.attrs["Size"], base_size, time.perf_counter() - started)


def _build_error(log: list[str], base_image: str | None = None) -> str:
    """The error BuildKit printed (its last ERROR line, or the log's tail), with a hint when
    the base image could not be pulled."""
    errors = [line.strip() for line in log if line.lstrip().startswith(("ERROR", "error:"))]
    error = errors[-1] if errors else "".join(log[-15:]).strip()
    if any(w in error for w in ("registry-1.docker.io", "no such host", "pull access",
                                "manifest unknown", "repository does not exist",
                                "failed to resolve source metadata")):
        named = f"the base image {base_image}" if base_image else "the base image"
        error += (f"\n{named} could not be pulled; pass --base-image with an image "
                  "this engine has (docker images), or set the target's base_image option")
    return error


@functools.lru_cache(maxsize=1)
def buildkit_command() -> tuple[str, ...]:
    """A docker CLI that builds with BuildKit: ``docker buildx build --load`` where the buildx
    plugin is installed, else a CLI older than 23.0, whose built-in BuildKit
    DOCKER_BUILDKIT=1 turns on (Debian bookworm's docker.io 20.10 is one). Every ``docker``
    on PATH is tried, in order."""
    seen: set[str] = set()
    for folder in os.environ.get("PATH", "").split(os.pathsep):
        exe = os.path.join(folder or ".", "docker")
        real = os.path.realpath(exe)
        if real in seen or not os.access(exe, os.X_OK):
            continue
        seen.add(real)
        if _runs([exe, "buildx", "version"]):
            return (exe, "buildx", "build", "--load")
        version = re.search(r"version (\d+)\.", _output([exe, "--version"]))
        if version and int(version.group(1)) < 23:
            return (exe, "build")
    raise DockerUnavailable(
        "no docker CLI that builds with BuildKit was found on PATH: install Docker's buildx "
        "plugin (package docker-buildx-plugin or docker-buildx); the image's cache mounts "
        "need BuildKit")


def _runs(command: list[str]) -> bool:
    return _output(command, check=True) is not None


def _output(command: list[str], check: bool = False) -> str | None:
    try:
        proc = subprocess.run(command, capture_output=True, text=True, timeout=20)
    except (OSError, subprocess.TimeoutExpired):
        return None if check else ""
    if check and proc.returncode != 0:
        return None
    return proc.stdout


def _dockerfile_base(build_dir: Path) -> str | None:
    for line in (build_dir / "Dockerfile").read_text().splitlines():
        if line.startswith("ARG BASE_IMAGE="):
            return line.split("=", 1)[1].strip()
    return None


def push_image(image: str, say: Callable[[str], None]) -> None:
    """``docker push`` through the SDK, with progress; an error in the stream fails the step."""
    repository, _, tag = image.rpartition(":")
    last = None
    for chunk in docker_client().images.push(repository, tag=tag, stream=True, decode=True):
        if "error" in chunk:
            raise PortapackError(f"docker push failed: {chunk['error']}")
        status = chunk.get("status")
        if status and status != last and not chunk.get("progressDetail"):
            say(f"  {status}" + (f" {chunk['id']}" if chunk.get("id") else ""))
            last = status
