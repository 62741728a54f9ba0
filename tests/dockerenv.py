"""What the Docker tests share: the engine and base image they need, and how they are
skipped (with the reason) or, under PORTAPACK_REQUIRE_DOCKER=1 (set by CI once
.ci/docker-setup.sh has the engine up), failed."""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

import pytest

from portapack.proof.engine import DockerUnavailable, buildkit_command, docker_client

# The artifacts' own default base (the RunPod Dockerfile's): what a user's Docker pulls, and
# what .ci/docker-setup.sh also tags its locally built Debian Python image as.
BASE = os.environ.get("PORTAPACK_TEST_BASE_IMAGE", "python:3.11-slim")
REQUIRED = os.environ.get("PORTAPACK_REQUIRE_DOCKER") == "1"


def unavailable(reason: str) -> None:
    if REQUIRED:
        pytest.fail(f"PORTAPACK_REQUIRE_DOCKER=1 but {reason}")
    pytest.skip(reason)


def engine_with_base(connect: Callable[[], Any] = docker_client) -> Any:
    """A reachable engine that has the local base image, or skip (fail under REQUIRED)."""
    try:
        client = connect()
    except DockerUnavailable as exc:
        unavailable(str(exc))
    try:
        client.images.get(BASE)
    except Exception:
        unavailable(f"base image {BASE} not found (run .ci/docker-setup.sh as root)")
    try:
        buildkit_command()  # the RunPod image's cache mounts need BuildKit
    except DockerUnavailable as exc:
        unavailable(str(exc))
    return client
