"""Modal's own local runtime: ``Model().predict.local(...)``, hosted in a worker subprocess."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from ...runtimes.base import WorkerRuntime


class ModalRuntime(WorkerRuntime):
    target = "modal"
    description = "Modal's Model().predict.local(), in-process, no account"
    loader = "portapack.targets.modal.runtime:modal_predictor"


def modal_predictor(build_dir: Path) -> Callable[[dict[str, Any]], Any]:
    import modal_app  # the generated app file, imported offline

    model = modal_app.Model()
    # .local() runs the @modal.enter hooks on the first call; run them now, so a failing
    # load() is a start failure (modal 1.x keeps this on the instance as _enter()).
    enter = getattr(model, "_enter", None)
    if callable(enter):
        enter()
    return lambda inputs: model.predict.local(**inputs)
