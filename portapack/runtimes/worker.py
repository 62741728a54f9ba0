"""The worker process behind WorkerRuntime: hosts Modal's ``.local()`` or Truss's loader.

Protocol: one JSON line per request on stdin ({"inputs": {...}, "stream": bool}), one JSON
line per reply on the original stdout. The user's prints go to stderr, not the protocol.
"""

from __future__ import annotations

import json
import os
import re
import sys
import traceback
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any


def modal_predictor(build_dir: Path) -> Callable[[dict[str, Any]], Any]:
    import modal_app  # the generated app file, imported offline

    model = modal_app.Model()
    # .local() runs the @modal.enter hooks on the first call; run them now, so a failing
    # load() is a start failure (modal 1.x keeps this on the instance as _enter()).
    enter = getattr(model, "_enter", None)
    if callable(enter):
        enter()
    return lambda inputs: model.predict.local(**inputs)


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


LOADERS = {"modal": modal_predictor, "truss": truss_predictor}


def error_text(exc: BaseException) -> str:
    detail = getattr(exc, "detail", None)  # fastapi.HTTPException from Truss models
    if isinstance(detail, str):
        return detail
    unexpected = re.search(r"unexpected keyword argument '(\w+)'", str(exc))
    if isinstance(exc, TypeError) and unexpected:  # Modal's method signature refused it
        return f"input '{unexpected.group(1)}': Extra inputs are not permitted"
    if isinstance(exc, TypeError) and "argument" in str(exc):
        return f"input error: {exc}"
    return str(exc) or type(exc).__name__


def main() -> None:
    target, build_dir = sys.argv[1], Path(sys.argv[2]).resolve()
    protocol = os.fdopen(os.dup(1), "w", buffering=1)
    os.dup2(2, 1)  # anything the model prints goes to the log, not the protocol
    sys.stdout = sys.stderr
    os.chdir(build_dir)
    sys.path.insert(0, str(build_dir))
    try:
        predict = LOADERS[target](build_dir)
        protocol.write(json.dumps({"ready": True}) + "\n")
    except BaseException as exc:  # report any load failure to the parent, then exit
        traceback.print_exc()
        protocol.write(json.dumps({"ready": False, "error": f"{type(exc).__name__}: {exc}"}) + "\n")
        return
    for line in sys.stdin:
        request = json.loads(line)
        try:
            result = predict(request["inputs"])
            if isinstance(result, Iterator):
                items = list(result)
                reply = {"ok": True, "output": items, "items": items}
            else:
                reply = {"ok": True, "output": result}
            text = json.dumps(reply)
        except Exception as exc:
            traceback.print_exc()
            text = json.dumps({"ok": False, "error": error_text(exc)})
        protocol.write(text + "\n")


if __name__ == "__main__":
    main()
