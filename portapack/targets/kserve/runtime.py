"""KServe's own model server, run locally: ``python model.py --model_name NAME`` in the
artifact's env (kserve is in its requirements.txt), called with the v1 protocol."""

from __future__ import annotations

import json
import shlex
import time
import urllib.error
import urllib.request
from typing import Any

from portapack.proof.runtimes.base import Outcome, Runtime, http_json


class KserveRuntime(Runtime):
    target = "kserve"
    description = "KServe's model server (kserve.ModelServer): POST /v1/models/NAME:predict"
    isolated = True  # kserve itself is in the artifact's requirements.txt: nothing extra

    @property
    def model(self) -> str:
        if self.project is not None:
            return self.project.spec.name
        from portapack.building.builder import read_marker

        return (read_marker(self.build_dir) or {})["name"]

    def command(self) -> list[str]:
        # KServe binds 0.0.0.0 (hard-coded in kserve/protocol/rest/server.py); no gRPC server.
        return [self.python, "-u", "model.py", "--model_name", self.model, "--http_port",
                str(self.port), "--enable_grpc", "false"]

    def ready(self) -> bool:
        """200 once the model is loaded (503 before): the manifest's readiness probe."""
        status, _ = http_json("GET", f"{self.url}/v1/models/{self.model}", timeout=5)
        return status == 200

    @property
    def predict_url(self) -> str:
        return f"{self.url}/v1/models/{self.model}:predict"

    def predict(self, inputs: dict[str, Any]) -> Outcome:
        if self.project is not None and self.project.predictor.streaming:
            return self.stream(inputs)
        started = time.perf_counter()
        status, body = http_json("POST", self.predict_url, {"instances": [inputs]})
        seconds = time.perf_counter() - started
        if status == 200 and isinstance(body, dict) and isinstance(body.get("predictions"), list) \
                and len(body["predictions"]) == 1:
            return Outcome(True, body["predictions"][0], status=status, seconds=seconds)
        return Outcome(False, error=error_text(body), status=status, seconds=seconds)

    def stream(self, inputs: dict[str, Any]) -> Outcome:
        """Read the server-sent events of a streamed predict: ``data:`` items in order, an
        ``error`` event (after the 200) or a 4xx/5xx answer as the error."""
        started = time.perf_counter()
        request = urllib.request.Request(
            self.predict_url, data=json.dumps({"instances": [inputs]}).encode(), method="POST",
            headers={"Content-Type": "application/json"})
        items: list[Any] = []
        try:
            with urllib.request.urlopen(request, timeout=600) as response:
                status, event = response.status, "message"
                for raw in response:
                    line = raw.decode("utf-8").rstrip("\r\n")
                    if line.startswith("event:"):
                        event = line[6:].strip()
                    elif line.startswith("data:"):
                        data = json.loads(line[5:].strip())
                        if event == "error":
                            return Outcome(False, error=error_text(data), status=status,
                                           items=items, seconds=time.perf_counter() - started)
                        items.append(data)
                    elif not line:
                        event = "message"
        except urllib.error.HTTPError as exc:
            raw_body = exc.read()
            try:
                body: Any = json.loads(raw_body)
            except ValueError:
                body = raw_body.decode("utf-8", "replace")
            return Outcome(False, error=error_text(body), status=exc.code,
                           seconds=time.perf_counter() - started)
        except (urllib.error.URLError, ConnectionError, TimeoutError, ValueError) as exc:
            return Outcome(False, error=f"stream failed: {exc}", items=items,
                           seconds=time.perf_counter() - started)
        return Outcome(True, items, status=status, items=items, seconds=time.perf_counter() - started)

    def sample_request(self, inputs: dict[str, Any]) -> str:
        body = shlex.quote(json.dumps({"instances": [inputs]}))
        return f"curl -s {self.predict_url} -H 'Content-Type: application/json' -d {body}"


def error_text(body: Any) -> str:
    """KServe's error answer, {"error": "..."}, as its message."""
    if isinstance(body, dict) and isinstance(body.get("error"), str):
        return body["error"]
    return f"unexpected response: {body!r}"[:2000]
