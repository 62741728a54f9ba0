"""Modal's own local runtime, public API only: ``Model().predict.local(...)`` and the class's
``web`` endpoint, hosted in a worker subprocess in the artifact's env (modal + its
requirements.txt)."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

from portapack.proof.envs import pinned
from portapack.proof.runtimes.base import Outcome, free_port
from portapack.proof.runtimes.worker_runtime import WorkerRuntime


class ModalRuntime(WorkerRuntime):
    target = "modal"
    description = "Modal's Model().predict.local() and its web endpoint (POST /), no account"
    loader = f"{Path(__file__).with_name('worker_loader.py')}:modal_loader"
    isolated = True

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.web_port = free_port()

    def runtime_packages(self) -> list[str]:
        # The artifact's requirements.txt already carries fastapi[standard] for `web`.
        return [pinned("modal")]

    def loader_args(self) -> list[str]:
        return [str(self.web_port)]

    def endpoints(self) -> dict[str, Any]:
        return {"": self.predict, "web": self.web}

    def web(self, inputs: dict[str, Any], stream: bool = False) -> Outcome:
        """POST the inputs to the ``web`` endpoint (a bad input answers 422 naming it); a
        streaming model answers one line per item (JSON unless the item is text)."""
        started = time.perf_counter()
        req = urllib.request.Request(f"http://127.0.0.1:{self.web_port}/",
                                     data=json.dumps(inputs).encode(), method="POST",
                                     headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(req, timeout=600) as resp:
                status, raw = resp.status, resp.read().decode("utf-8")
                streamed = resp.headers.get_content_type() == "text/plain"
        except urllib.error.HTTPError as exc:
            body = exc.read().decode("utf-8", "replace")
            try:
                detail = json.loads(body).get("detail", body)
            except (ValueError, AttributeError):
                detail = body
            return Outcome(False, error=str(detail), status=exc.code,
                           seconds=time.perf_counter() - started)
        seconds = time.perf_counter() - started
        if streamed:
            items = [_item(line) for line in raw.splitlines()]
            return Outcome(True, items, status=status, seconds=seconds, items=items)
        return Outcome(True, json.loads(raw), status=status, seconds=seconds)


def _item(line: str) -> Any:
    """A streamed line back to its item: JSON values were dumped, text was sent as it is
    (so a text item that reads as JSON, e.g. "42", comes back as that value)."""
    try:
        return json.loads(line)
    except ValueError:
        return line
