"""``portapack serve``: one target's artifact under its own runtime, for interactive use.

Cog, Truss and RunPod ship HTTP servers, used as they are. Modal's ``.local()`` is an
in-process runtime, so a small HTTP front (POST /predict) forwards to it.
"""

from __future__ import annotations

import json
import shlex
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from portapack.errors import PortapackError
from portapack.proof.runtimes import Runtime, get_runtime
from portapack.proof.runtimes.worker_runtime import WorkerRuntime


def check_port_free(port: int) -> None:
    """Fail before loading anything if the port is taken."""
    import socket

    with socket.socket() as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            raise PortapackError(f"port {port} is in use; pick another --port or omit it") from None


class Front:
    """POST /predict {"input": {...}} -> {"output": ...} | 422 {"error": ...}, for a worker."""

    def __init__(self, runtime: WorkerRuntime, port: int):
        self.runtime, self.port = runtime, port
        lock = threading.Lock()  # the worker answers one request at a time

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's naming
                if self.path.rstrip("/") != "/predict":
                    return self._send(404, {"error": "POST /predict"})
                try:
                    body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))))
                except ValueError:
                    return self._send(400, {"error": "the body is not JSON"})
                inputs = body.get("input", body) if isinstance(body, dict) else body
                if not isinstance(inputs, dict):
                    return self._send(422, {"error": "send the inputs as a JSON object"})
                with lock:
                    outcome = runtime.predict(inputs)
                if outcome.ok:
                    return self._send(200, {"output": outcome.output})
                return self._send(422, {"error": outcome.error})

            def _send(self, status: int, payload: Any) -> None:
                data = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def start(self) -> None:
        self.thread.start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


class Served:
    """A started runtime plus, for in-process runtimes, its HTTP front."""

    def __init__(self, target: str, build_dir: Path, port: int):
        self.runtime: Runtime = get_runtime(target, build_dir, port=port)
        self.front: Front | None = None
        self.runtime.start()
        if isinstance(self.runtime, WorkerRuntime):
            try:
                self.front = Front(self.runtime, port)
                self.front.start()
            except BaseException:
                self.runtime.stop()
                raise

    def sample_request(self, inputs: dict[str, Any]) -> str:
        if self.front:
            body = json.dumps({"input": inputs})
            return (f"curl -s http://127.0.0.1:{self.front.port}/predict "
                    f"-H 'Content-Type: application/json' -d {shlex.quote(body)}")
        return self.runtime.sample_request(inputs)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.front.port}" if self.front else self.runtime.url

    def stop(self) -> None:
        if self.front:
            self.front.stop()
        self.runtime.stop()


class Watcher:
    """Tells when one of ``paths()`` changes (mtime or set of files) since the last look.

    The baseline is taken when the watcher is made, before the server starts, so an edit
    saved while it starts is not missed.
    """

    def __init__(self, paths: Callable[[], list[Path]]):
        self.paths = paths
        self.before = self.snapshot()

    def snapshot(self) -> dict[Path, float]:
        out = {}
        for p in self.paths():
            try:
                out[p] = p.stat().st_mtime
            except OSError:
                pass
        return out

    def changes(self, interval: float = 1.0):
        """Yield whenever something changed; runs until the caller stops iterating."""
        while True:
            time.sleep(interval)
            now = self.snapshot()
            if now != self.before:
                self.before = now
                yield
