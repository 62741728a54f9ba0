"""RunPod's local API server: ``python -u handler.py --rp_serve_api`` (POST /runsync)."""

from __future__ import annotations

import json
import re
import shlex
import time
from typing import Any

from portapack.proof.runtimes.base import Outcome, Runtime, http_json


class RunpodRuntime(Runtime):
    target = "runpod"
    description = "RunPod's local API: handler.py --rp_serve_api (POST /runsync, /run + /stream)"
    isolated = True  # runpod itself is in the artifact's requirements.txt: nothing extra

    def command(self) -> list[str]:
        return [self.python, "-u", "handler.py", "--rp_serve_api", "--rp_api_host", "127.0.0.1",
                "--rp_api_port", str(self.port)]

    def ready(self) -> bool:
        status, _ = http_json("GET", f"{self.url}/openapi.json", timeout=5)
        return status == 200

    @staticmethod
    def _outcome(status: int, body: Any, seconds: float) -> Outcome:
        if isinstance(body, dict) and body.get("status") == "COMPLETED" and "error" not in body:
            output = body.get("output")
            # The local server reports a generator's `yield {"error": ...}` as COMPLETED with
            # the error inside the output list; RunPod itself marks that job FAILED.
            if isinstance(output, list) and output and _is_error(output[0]):
                return Outcome(False, error=str(output[0]["error"]), status=status, seconds=seconds)
            return Outcome(True, output, status=status, seconds=seconds)
        if isinstance(body, dict) and "error" in body:
            return Outcome(False, error=_job_error(body["error"]), status=status, seconds=seconds)
        return Outcome(False, error=f"unexpected response: {body!r}", status=status, seconds=seconds)

    def predict(self, inputs: dict[str, Any]) -> Outcome:
        started = time.perf_counter()
        status, body = http_json("POST", f"{self.url}/runsync", {"input": inputs})
        return self._outcome(status, body, time.perf_counter() - started)

    def stream(self, inputs: dict[str, Any]) -> Outcome:
        """POST /run, then POST /stream/{id} (the local server's routes are all POST) until
        the job is done; the items in order."""
        started = time.perf_counter()
        status, body = http_json("POST", f"{self.url}/run", {"input": inputs})
        if not (isinstance(body, dict) and body.get("id")):
            return self._outcome(status, body, time.perf_counter() - started)
        items: list[Any] = []
        while True:
            status, chunk = http_json("POST", f"{self.url}/stream/{body['id']}", {})
            if not isinstance(chunk, dict):
                return Outcome(False, error=f"unexpected stream response: {chunk!r}", status=status)
            for part in chunk.get("stream") or []:
                out = part.get("output") if isinstance(part, dict) else part
                if _is_error(out):
                    return Outcome(False, error=str(out["error"]), status=status, items=items,
                                   seconds=time.perf_counter() - started)
                items.append(out)
            if chunk.get("status") != "IN_PROGRESS" or "error" in chunk:
                break
        seconds = time.perf_counter() - started
        if "error" in chunk or chunk.get("status") != "COMPLETED":
            return Outcome(False, error=str(chunk.get("error")), status=status, items=items,
                           seconds=seconds)
        return Outcome(True, items, status=status, items=items, seconds=seconds)

    def sample_request(self, inputs: dict[str, Any]) -> str:
        body = json.dumps({"input": inputs})
        return f"curl -s {self.url}/runsync -H 'Content-Type: application/json' -d {shlex.quote(body)}"


def _job_error(error: Any) -> str:
    """A failed job's error as one message. When predict() raises, the runpod SDK (1.12,
    rp_job.run_job) sends a JSON string {"error_type": "<class 'ValueError'>",
    "error_message": ..., "error_traceback": ...}: shown as "predict() raised ValueError: ...",
    the traceback after it (for the log file, not the one-line summary)."""
    info = error
    if isinstance(error, str) and error.startswith("{"):
        try:
            info = json.loads(error)
        except ValueError:
            return error
    if isinstance(info, dict) and "error_message" in info:
        kind = re.sub(r"^<class '(?:[\w.]+\.)?(\w+)'>$", r"\1", str(info.get("error_type") or "an error"))
        trace = str(info.get("error_traceback") or "").rstrip()
        return f"predict() raised {kind}: {info['error_message']}" + (f"\n{trace}" if trace else "")
    return error if isinstance(error, str) else json.dumps(error)


def _is_error(value: Any) -> bool:
    return isinstance(value, dict) and set(value) == {"error"}
