"""Truss's own local loader, hosted in a worker subprocess."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from ...runtimes.base import WorkerRuntime


class TrussRuntime(WorkerRuntime):
    target = "truss"
    description = "Truss's loader: truss.load(dir).predict(..., use_docker=False)"
    loader = "portapack.targets.truss.runtime:truss_predictor"


def truss_predictor(build_dir: Path) -> Callable[[dict[str, Any]], Any]:
    """Truss's own local loader, loaded once: ``truss.load(dir).predict(..., use_docker=False)``
    does exactly this, but loads the model again on every call."""
    try:
        from truss.contexts.local_loader.load_model_local import LoadModelLocal
        from truss.truss_handle.truss_handle import _prediction_flow
    except ImportError:  # another truss layout: the public API, one load per request
        import truss

        handle = truss.load(str(build_dir))
        return lambda inputs: handle.predict(inputs, use_docker=False)
    model = LoadModelLocal.run(build_dir)
    return lambda inputs: _prediction_flow(model, inputs)
