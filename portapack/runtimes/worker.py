"""The worker process behind WorkerRuntime: hosts an in-process platform runtime (Modal's
``.local()``, Truss's loader), named by the target's ``module:function`` loader.

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
from collections.abc import Iterator
from pathlib import Path


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
    loader_ref, build_dir = sys.argv[1], Path(sys.argv[2]).resolve()
    protocol = os.fdopen(os.dup(1), "w", buffering=1)
    os.dup2(2, 1)  # anything the model prints goes to the log, not the protocol
    sys.stdout = sys.stderr
    os.chdir(build_dir)
    sys.path.insert(0, str(build_dir))
    try:
        module, _, function = loader_ref.partition(":")
        predict = getattr(importlib.import_module(module), function)(build_dir)
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
