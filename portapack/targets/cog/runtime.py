"""Cog's own HTTP server (coglet), run from the build dir without Docker."""

from __future__ import annotations

import json
import re
import shlex
import time
import urllib.error
import urllib.request
from typing import Any

from portapack.proof.envs import pinned
from portapack.proof.runtimes.base import Outcome, Runtime, http_json

# The runner the Cog target writes (cog.yaml `run:`); the server reads it from this variable.
RUNNER_REF = "run.py:Runner"


def _cog_errors(body: Any) -> str:
    """Cog's 422 body -> "input 'x': msg; ..." like the other targets."""
    if isinstance(body, dict) and isinstance(body.get("detail"), list):
        parts = []
        for err in body["detail"]:
            loc = [str(p).replace("/", ".") for p in err.get("loc", []) if p not in ("body", "input")]
            parts.append(f"input '{'.'.join(loc) or '(body)'}': {err.get('msg')}")
        return "; ".join(parts)
    return json.dumps(body) if not isinstance(body, str) else body


class CogRuntime(Runtime):
    target = "cog"
    description = "Cog's HTTP server: python -m cog.server.http (POST /predictions)"
    isolated = True

    def runtime_packages(self) -> list[str]:
        # What `cog build` installs in the image beside requirements.txt: cog (with coglet).
        return [pinned("cog")]

    def command(self) -> list[str]:
        return [self.python, "-m", "cog.server.http", "--host", "127.0.0.1"]

    def process_env(self) -> dict[str, str]:
        env = super().process_env()
        env.update(COG_PREDICT_TYPE_STUB=RUNNER_REF, PORT=str(self.port))
        # `cog build` reads @concurrent(max=N) statically and bakes COG_MAX_CONCURRENCY into
        # the image; the server sizes its slots from that variable alone.
        if "COG_MAX_CONCURRENCY" not in self.env:
            env["COG_MAX_CONCURRENCY"] = str(self.concurrency())
        return env

    def concurrency(self) -> int:
        runner = (self.build_dir / RUNNER_REF.split(":")[0]).read_text(encoding="utf-8")
        found = re.search(r"^\s*@(?:cog\.)?concurrent\(max=(\d+)\)", runner, re.MULTILINE)
        return int(found.group(1)) if found else 1

    def ready(self) -> bool:
        status, body = http_json("GET", f"{self.url}/health-check", timeout=5)
        if isinstance(body, dict) and body.get("status") == "SETUP_FAILED":
            logs = (body.get("setup") or {}).get("logs", "")
            raise RuntimeError(f"Cog setup failed:\n{logs[-2000:]}")
        return status == 200 and isinstance(body, dict) and body.get("status") == "READY"

    def predict(self, inputs: dict[str, Any]) -> Outcome:
        started = time.perf_counter()
        for _ in range(100):  # 409: the slot of the previous prediction is not free yet
            status, body = http_json("POST", f"{self.url}/predictions", {"input": inputs})
            if status != 409:
                break
            time.sleep(0.05)
        seconds = time.perf_counter() - started
        if status == 200 and isinstance(body, dict) and body.get("status") == "succeeded":
            return Outcome(True, body.get("output"), status=status, seconds=seconds)
        error = body.get("error") if isinstance(body, dict) and body.get("error") else _cog_errors(body)
        return Outcome(False, error=str(error), status=status, seconds=seconds)

    def stream(self, inputs: dict[str, Any]) -> Outcome:
        """POST with Accept: text/event-stream; collect the `output` events' chunks."""
        started = time.perf_counter()
        req = urllib.request.Request(
            f"{self.url}/predictions", data=json.dumps({"input": inputs}).encode(), method="POST",
            headers={"Content-Type": "application/json", "Accept": "text/event-stream"})
        items: list[Any] = []
        final: dict[str, Any] = {}
        for attempt in range(100):
            try:
                with urllib.request.urlopen(req, timeout=600) as resp:
                    event = None
                    for raw in resp:
                        line = raw.decode("utf-8").rstrip("\n")
                        if line.startswith("event:"):
                            event = line.split(":", 1)[1].strip()
                        elif line.startswith("data:"):
                            data = json.loads(line.split(":", 1)[1])
                            if event == "output":
                                items.append(data["chunk"])
                            elif event == "completed":
                                final = data
                break
            except urllib.error.HTTPError as exc:
                body = exc.read()
                if exc.code == 409 and attempt < 99:  # the previous prediction's slot
                    time.sleep(0.05)
                    continue
                try:
                    parsed = json.loads(body)
                except ValueError:
                    parsed = body.decode("utf-8", "replace")
                return Outcome(False, error=_cog_errors(parsed), status=exc.code,
                               seconds=time.perf_counter() - started)
        seconds = time.perf_counter() - started
        if final.get("status") == "succeeded":
            return Outcome(True, items, status=200, seconds=seconds, items=items)
        return Outcome(False, error=str(final.get("error")), status=200, seconds=seconds, items=items)

    def sample_request(self, inputs: dict[str, Any]) -> str:
        body = json.dumps({"input": inputs})
        return f"curl -s {self.url}/predictions -H 'Content-Type: application/json' -d {shlex.quote(body)}"
