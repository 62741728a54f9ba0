"""Options of the Modal target: ``targets.modal:`` in portapack.yaml."""

from __future__ import annotations

from pydantic import Field

from ...strict import StrictModel


class ModalOptions(StrictModel):
    memory_snapshot: bool | None = Field(
        None,
        description="Snapshot the container after load() to cut cold starts. Default: on for "
        "CPU-only models, off with a GPU (load() may touch CUDA, which snapshots cannot hold).",
    )
