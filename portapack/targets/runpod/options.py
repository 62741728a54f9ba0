"""Options of the RunPod target: ``targets.runpod:`` in portapack.yaml."""

from __future__ import annotations

import re
from typing import Literal

from pydantic import Field, field_validator

from portapack.spec.strict import StrictModel


class RunpodOptions(StrictModel):
    base_image: str | None = Field(
        None, description="Base image of the worker Dockerfile (default python:<version>-slim)."
    )
    gpu_type_ids: list[str] | None = Field(
        None, min_length=1,
        description="Exact RunPod GPU type ids (e.g. 'NVIDIA L4'): the endpoint uses their "
        "serverless pools with every other card of those pools excluded.",
    )
    container_disk_gb: int = Field(20, ge=5, le=1000, description="Container disk size.")
    # REST v2 takes an enum (OFF | FLASHBOOT | PRIORITY_FLASHBOOT); true/false still mean
    # FLASHBOOT/OFF, so specs written for v1 stay valid.
    flashboot: bool | Literal["OFF", "FLASHBOOT", "PRIORITY_FLASHBOOT"] = Field(
        True, description="FlashBoot: OFF, FLASHBOOT or PRIORITY_FLASHBOOT (true = FLASHBOOT, "
        "false = OFF).",
    )
    registry: str | None = Field(
        None, pattern=r"^[\w.\-]+(:[0-9]+)?(/[\w.\-]+)*$",
        description="Registry (and namespace) the worker image is pushed to, e.g. "
        "docker.io/myteam or ghcr.io/me.",
    )

    @field_validator("base_image")
    @classmethod
    def _image(cls, value: str | None) -> str | None:
        if value is not None and not re.fullmatch(r"[\w.\-/:@]+", value):
            raise ValueError(f"'{value}' is not a Docker image reference")
        return value
