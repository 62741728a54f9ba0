"""Calling a RunPod queue endpoint: its job API, and RunPod's local API server.

Cloud (``https://api.runpod.ai/v2/{endpoint}``): ``POST /runsync?wait=ms`` (a job that is
not done when the wait ends is polled), ``POST /run``, ``GET /status/{id}``,
``GET /stream/{id}`` (``{"status", "stream": [{"output": item}]}``), ``POST /cancel/{id}``.
Local (``handler.py --rp_serve_api``): the same routes, all POST, no cancel, no ``?wait``;
``/status/{id}`` runs the job then. A generator's ``yield {"error": ...}`` comes back locally
as COMPLETED with the error inside the output, where RunPod marks the job FAILED: read the
same way here.
"""

from __future__ import annotations

import json
import os
from typing import Any

from portapack.calling.errors import CallError
from portapack.calling.protocol import (
    Emit,
    Job,
    Program,
    Reply,
    Request,
    Seen,
    Send,
    Sleep,
    State,
    Transport,
    create,
)

JOB_URL = "https://api.runpod.ai/v2"
JOB_URL_ENV = ("PORTAPACK_RUNPOD_JOB_URL", "RUNPOD_ENDPOINT_BASE_URL")  # ours, then the SDK's
STATES = {"IN_QUEUE": State.QUEUED, "IN_PROGRESS": State.RUNNING, "RUNNING": State.RUNNING,
          "COMPLETED": State.SUCCEEDED, "FAILED": State.FAILED, "CANCELLED": State.CANCELED,
          "TIMED_OUT": State.TIMED_OUT}


class RunpodTransport(Transport):
    platform = "RunPod"
    local_name = "RunPod's local API"
    token_env = ("RUNPOD_API_KEY",)
    has_jobs = True

    def resolve_url(self, url: str | None) -> str:
        if self.endpoint and not self.local:
            base = next((os.environ[n] for n in JOB_URL_ENV if os.environ.get(n)), JOB_URL)
            return f"{base.rstrip('/')}/{self.endpoint}"
        url = super().resolve_url(url).rstrip("/")
        return url.removesuffix("/runsync").removesuffix("/run")  # a recorded runsync URL

    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"} if self.token else {}

    @property
    def read_verb(self) -> str:
        return "POST" if self.local else "GET"  # the local server's status/stream are POST

    def create(self, inputs: dict[str, Any], *, wait: float | None = None) -> Request:
        body = {"input": inputs}
        if wait and not self.local:
            ms = max(1000, min(300000, round(wait * 1000)))
            return create("POST", f"{self.url}/runsync", json=body, headers=self.headers(),
                          params={"wait": str(ms)}, timeout=ms / 1000)
        route = "runsync" if wait else "run"
        return create("POST", f"{self.url}/{route}", json=body, headers=self.headers())

    def _get(self, route: str) -> Request:
        return Request(self.read_verb, f"{self.url}/{route}", headers=self.headers(),
                       json={} if self.local else None)

    def read(self, reply: Reply, inputs: dict[str, Any], job: Job | None = None) -> Job:
        body = reply.body
        if not reply.ok or not isinstance(body, dict):
            if reply.status == 404 and job is not None:
                raise CallError(self.name, "the job is gone (its result expired, or the id is "
                                "wrong)", kind="not_found", job_id=job.id, http_status=404)
            if reply.ok:
                raise CallError(self.name, f"unexpected answer: {body!r:.300}", kind="protocol")
            raise self.error(reply, inputs)
        jid = body.get("id") or (job.id if job else None)
        status = body.get("status", "")
        state = STATES.get(status, State.RUNNING)
        output, error = body.get("output"), body.get("error")
        if state is State.SUCCEEDED and error is None and _yielded_error(output):
            state, error = State.FAILED, output[0]["error"]
        if error is not None and state is State.SUCCEEDED:
            state = State.FAILED
        return Job(state, jid, output, _error_text(error), status, body,
                   next=self._get(f"status/{jid}") if jid else None,
                   cancel=None if self.local or not jid else Request(
                       "POST", f"{self.url}/cancel/{jid}", headers=self.headers()))

    def resume(self, job_id: str) -> Job:
        return Job(State.QUEUED, job_id, next=self._get(f"status/{job_id}"),
                   cancel=None if self.local else Request("POST", f"{self.url}/cancel/{job_id}",
                                                          headers=self.headers()))

    def stream(self, inputs: dict[str, Any]) -> Program:
        """``/run``, then ``/stream/{id}`` until the job ends; each item once, in order."""
        job = self.read((yield Send(self.create(inputs))), inputs)
        yield Seen(job)
        wait = 0.1
        while True:
            reply = yield Send(self._get(f"stream/{job.id}"))
            if not reply.ok or not isinstance(reply.body, dict):
                raise self.error(reply, inputs, f"{self.read_verb} /stream/{job.id}")
            chunk = reply.body
            for part in chunk.get("stream") or []:
                item = part.get("output") if isinstance(part, dict) else part
                if _yielded_error([item]):
                    raise CallError(self.name, str(item["error"]), kind="model", job_id=job.id,
                                    inputs=inputs)
                yield Emit(item)
            state = STATES.get(chunk.get("status", ""), State.RUNNING)
            job = job.but(state=state, raw_status=chunk.get("status"),
                          error=_error_text(chunk.get("error")), raw=chunk)
            yield Seen(job)
            if "error" in chunk and chunk["error"] is not None:
                job = job.but(state=State.FAILED)
            if job.done and not chunk.get("stream"):
                return self.check(job, inputs)
            if job.done and self.local:  # the local server sends the whole stream at once
                return self.check(job, inputs)
            yield Sleep(wait)
            wait = min(1.0, wait * 1.5)

    def route_url(self, route: str) -> str:
        if self.local or not self.endpoint:
            return super().route_url(route)
        # A server: project deploys as a load-balancer endpoint: https://{id}.api.runpod.ai
        base = os.environ.get("PORTAPACK_RUNPOD_LB_URL") or f"https://{self.endpoint}.api.runpod.ai"
        return base.rstrip("/") + "/" + route.lstrip("/")


def _yielded_error(output: Any) -> bool:
    return (isinstance(output, list) and bool(output) and isinstance(output[0], dict)
            and set(output[0]) == {"error"})


def _error_text(error: Any) -> str | None:
    """RunPod's error: a handler's exception arrives as JSON text with ``error_message``."""
    if error is None:
        return None
    if isinstance(error, str):
        try:
            parsed = json.loads(error)
        except ValueError:
            return error
        error = parsed
    if isinstance(error, dict):
        found = error.get("error_message") or error.get("error") or error
        kind = error.get("error_type")
        text = found if isinstance(found, str) else json.dumps(found)
        return f"{kind}: {text}" if kind else text
    return str(error)
