"""Modal's loader for portapack's worker (portapack/proof/runtimes/worker.py): run by path in the
artifact's own env, where portapack is not installed, so standard library only (modal,
fastapi and uvicorn come from the artifact's env when called)."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

PROBE = "__portapack_probe__"


def modal_loader(build_dir: Path, web_port: str = "") -> Callable[[dict[str, Any]], Any]:
    """Modal's public local API (modal 1.6.4, modal/_functions.py ``local()``): ``.local()``
    runs the @modal.enter hooks before it binds the call's arguments, so a probe keyword that
    predict() cannot take runs load() now (a failing load() is a start failure) and is then
    refused. Later ``.local()`` calls do not run the hooks again."""
    import modal_app  # the generated app file, imported offline

    model = modal_app.Model()
    try:
        model.predict.local(**{PROBE: 1})
    except TypeError as exc:
        if PROBE not in str(exc):
            raise
    if web_port:  # the web endpoint, served as Modal's container serves it: one POST route
        serve_web(model, int(web_port))
    return lambda inputs: model.predict.local(**inputs)


def serve_web(model: Any, port: int) -> None:
    """``web`` (a ``@modal.fastapi_endpoint``) behind FastAPI at POST /, in a thread."""
    import threading

    import fastapi
    import uvicorn

    api = fastapi.FastAPI()

    @api.post("/")
    def web(body: dict):  # the generated web(self, body: dict)
        return model.web.local(body)

    server = uvicorn.Server(uvicorn.Config(api, host="127.0.0.1", port=port, log_level="warning"))
    threading.Thread(target=server.run, daemon=True).start()
    for _ in range(200):
        if server.started:
            return
        time.sleep(0.05)
    raise RuntimeError(f"the web endpoint did not start on port {port}")
