"""The echo artifact's local runtime: its own server.py, started as a subprocess."""

from __future__ import annotations

import time
from typing import Any

from portapack.proof.runtimes.base import Outcome, Runtime, http_json


class EchoRuntime(Runtime):
    target = "echo"
    description = "the echo server: python server.py --port N (POST /predict)"

    def command(self) -> list[str]:
        return [self.python, "-u", "server.py", "--port", str(self.port)]

    def ready(self) -> bool:
        return http_json("GET", f"{self.url}/health", timeout=5)[0] == 200

    def predict(self, inputs: dict[str, Any]) -> Outcome:
        started = time.perf_counter()
        status, body = http_json("POST", f"{self.url}/predict", {"input": inputs})
        seconds = time.perf_counter() - started
        if status == 200:
            return Outcome(True, body["output"], status=status, seconds=seconds)
        return Outcome(False, error=body.get("error") if isinstance(body, dict) else str(body),
                       status=status, seconds=seconds)
