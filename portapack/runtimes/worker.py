"""The worker process behind WorkerRuntime: hosts an in-process runtime (Modal's ``.local()``,
or the user's predictor itself for the reference run), named by a built-in loader ("modal",
"reference") or a ``module:function``.

Standard library only: it runs by path (``python -P worker.py``) in the artifact's own env,
where portapack is not installed.

Protocol: one JSON line per request on stdin ({"inputs": {...}, "stream": bool}), one JSON
line per reply on the original stdout. The user's prints go to stderr, not the protocol.
"""

from __future__ import annotations

import importlib
import json
import os
import re
import sys
import traceback
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any


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
    import time

    for _ in range(200):
        if server.started:
            return
        time.sleep(0.05)
    raise RuntimeError(f"the web endpoint did not start on port {port}")


def reference_loader(build_dir: Path, root: str, file: str, module: str, class_name: str,
                     helper: str = "", file_names: str = "") -> Callable[[dict[str, Any]], Any]:
    """The user's predictor itself: import ``file`` from the project ``root`` as ``module``,
    instantiate ``class_name`` and load() it. Inputs arrive already validated by portapack.
    ``helper``: the portapack_files module every artifact ships (file inputs ``file_names``
    fetched, outputs made JSON), loaded by path."""
    import importlib.util

    sys.path.insert(0, root)
    spec = importlib.util.spec_from_file_location(module, Path(root) / file)
    loaded = importlib.util.module_from_spec(spec)  # type: ignore[arg-type]
    sys.modules[module] = loaded
    spec.loader.exec_module(loaded)  # type: ignore[union-attr]
    instance = getattr(loaded, class_name)()
    instance.load()
    if not helper:
        return lambda inputs: instance.predict(**inputs)
    from importlib.machinery import SourceFileLoader

    source = SourceFileLoader("portapack_files", helper)  # a .j2 file: name the loader
    files = importlib.util.module_from_spec(importlib.util.spec_from_loader("portapack_files", source))
    source.exec_module(files)
    names = tuple(n for n in file_names.split(",") if n)

    def run(inputs: dict[str, Any]) -> Any:
        with files.file_inputs(inputs, names) as kwargs:
            result = instance.predict(**kwargs)
            if isinstance(result, Iterator):  # streaming takes no file inputs (the reader says so)
                return (files.encode_output(item) for item in result)
            return files.encode_output(result)

    return run


BUILT_IN = {"modal": modal_loader, "reference": reference_loader}


def main() -> None:
    loader_ref, build_dir, args = sys.argv[1], Path(sys.argv[2]).resolve(), sys.argv[3:]
    protocol = os.fdopen(os.dup(1), "w", buffering=1)
    os.dup2(2, 1)  # anything the model prints goes to the log, not the protocol
    sys.stdout = sys.stderr
    os.chdir(build_dir)
    sys.path.insert(0, str(build_dir))
    try:
        if loader_ref in BUILT_IN:
            predict = BUILT_IN[loader_ref](build_dir, *args)
        else:
            module, _, function = loader_ref.partition(":")
            predict = getattr(importlib.import_module(module), function)(build_dir, *args)
        protocol.write(json.dumps({"ready": True}) + "\n")
    except BaseException as exc:  # report any load failure to the parent, then exit
        traceback.print_exc()
        protocol.write(json.dumps({"ready": False, "error": f"{type(exc).__name__}: {exc}"}) + "\n")
        return
    for line in sys.stdin:
        request = json.loads(line)
        try:
            result = predict(request["inputs"])
            if isinstance(result, Iterator) and request.get("each"):  # one line per item, now
                for item in result:
                    protocol.write(json.dumps({"item": item}) + "\n")
                reply = {"ok": True, "end": True}
            elif isinstance(result, Iterator):
                items = list(result)
                reply = {"ok": True, "output": items, "items": items}
            else:
                reply = {"ok": True, "output": result}
            text = json.dumps(reply)
        except Exception as exc:
            traceback.print_exc()
            text = json.dumps({"ok": False, "error": error_text(exc), "type": type(exc).__name__})
        protocol.write(text + "\n")


if __name__ == "__main__":
    main()
