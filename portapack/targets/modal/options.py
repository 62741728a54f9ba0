"""Options of the Modal target: ``targets.modal:`` in portapack.yaml."""

from __future__ import annotations

from pydantic import Field

from portapack.spec.strict import StrictModel


class SnapshotSleep(StrictModel):
    """Routes of an engine's sleep mode (vLLM: ``--enable-sleep-mode``), called around a GPU
    snapshot so weights are offloaded before it and reloaded after a restore."""

    sleep: str = Field(pattern=r"^/", description="POSTed before the snapshot, e.g. /sleep?level=1.")
    wake: str = Field(pattern=r"^/", description="POSTed after a restore, e.g. /wake_up.")


class ModalOptions(StrictModel):
    memory_snapshot: bool | None = Field(
        None,
        description="Snapshot the container after load() to cut cold starts. Default: on for "
        "CPU-only models, off with a GPU (load() may touch CUDA, which snapshots cannot hold).",
    )
    gpu_snapshot: bool = Field(
        False,
        description="server: projects only. Snapshot CPU and GPU memory after the server started "
        "and served one warm-up request (Modal's alpha GPU memory snapshots): faster cold starts, "
        "a slower first deploy. Off by default.",
    )
    snapshot_sleep: SnapshotSleep | None = Field(
        None, description="server: projects with gpu_snapshot: the engine's sleep and wake routes.",
    )
