"""Modal's ``.local()`` and Truss's own loader, each hosted in a worker subprocess."""

from __future__ import annotations

from .base import WorkerRuntime


class ModalRuntime(WorkerRuntime):
    target = "modal"
    description = "Modal's Model().predict.local(), in-process, no account"


class TrussRuntime(WorkerRuntime):
    target = "truss"
    description = "Truss's loader: truss.load(dir).predict(..., use_docker=False)"
