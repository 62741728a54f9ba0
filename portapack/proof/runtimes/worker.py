"""The worker process behind WorkerRuntime: hosts an in-process runtime (a target's own, such
as Modal's ``.local()``, or the user's predictor itself for the reference run), named by the
built-in loader "reference", a target's loader file (``/path/loader.py:function``) or a
``module:function``.

Standard library only: it runs by path (``python -P worker.py``) in the artifact's own env,
where portapack is not installed.

Protocol: one JSON line per request on stdin ({"inputs": {...}, "stream": bool}), one JSON
line per reply on the original stdout. The user's prints go to stderr, not the protocol.
"""

from __future__ import annotations

import importlib
import importlib.util
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


def reference_loader(build_dir: Path, root: str, file: str, module: str, class_name: str,
                     helper: str = "", file_names: str = "") -> Callable[[dict[str, Any]], Any]:
    """The user's predictor itself: import ``file`` from the project ``root`` as ``module``,
    instantiate ``class_name`` and load() it. Inputs arrive already validated by portapack.
    ``helper``: the portapack_files module every artifact ships (file inputs ``file_names``
    fetched, outputs made JSON), loaded by path."""

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


BUILT_IN = {"reference": reference_loader}


def resolve(loader_ref: str) -> Callable[..., Callable[[dict[str, Any]], Any]]:
    """A built-in loader, a ``/path/to/loader.py:function`` shipped beside a target (standard
    library only, loaded by path), or an importable ``module:function``."""
    if loader_ref in BUILT_IN:
        return BUILT_IN[loader_ref]
    module, _, function = loader_ref.rpartition(":")
    if module.endswith(".py"):
        spec = importlib.util.spec_from_file_location(Path(module).stem, module)
        loaded = importlib.util.module_from_spec(spec)  # type: ignore[arg-type]
        spec.loader.exec_module(loaded)  # type: ignore[union-attr]
        return getattr(loaded, function)
    return getattr(importlib.import_module(module), function)


def main() -> None:
    loader_ref, build_dir, args = sys.argv[1], Path(sys.argv[2]).resolve(), sys.argv[3:]
    protocol = os.fdopen(os.dup(1), "w", buffering=1)
    os.dup2(2, 1)  # anything the model prints goes to the log, not the protocol
    sys.stdout = sys.stderr
    os.chdir(build_dir)
    sys.path.insert(0, str(build_dir))
    try:
        predict = resolve(loader_ref)(build_dir, *args)
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
