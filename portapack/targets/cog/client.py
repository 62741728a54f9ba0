"""Calling a Cog model: Replicate's predictions API (a deployment) and Cog's own server.

Replicate: ``POST {api}/deployments/{owner}/{name}/predictions`` with ``{"input": ...}``
(``Prefer: wait=N`` holds it), then ``GET urls.get`` until the status ends (``aborted``
included); ``POST urls.cancel``; text streams as server-sent events at ``urls.stream``.
Cog's server (``portapack serve``): ``POST /predictions`` answers the finished prediction;
with ``Accept: text/event-stream`` it streams ``output`` events ``{"chunk": item}``.
"""

from __future__ import annotations

import json
import os
import uuid
from typing import Any
from urllib.parse import urlsplit

from portapack.calling.errors import CallError
from portapack.calling.protocol import (
    Emit,
    Job,
    Open,
    Program,
    Reply,
    Request,
    Seen,
    Send,
    Sleep,
    State,
    Transport,
    create,
    read_sse,
)

API_URL = "https://api.replicate.com/v1"
API_URL_ENV = "PORTAPACK_REPLICATE_API_URL"  # the deployer's override, shared
STATES = {"starting": State.QUEUED, "processing": State.RUNNING, "succeeded": State.SUCCEEDED,
          "failed": State.FAILED, "canceled": State.CANCELED, "aborted": State.CANCELED}
TOKEN_HOSTS = ("api.replicate.com", "replicate.delivery")
INLINE_LIMIT = 256 * 1024  # characters of data: URI sent inline; above, uploaded


class ReplicateTransport(Transport):
    platform = "Replicate"
    local_name = "Cog's server"
    token_env = ("REPLICATE_API_TOKEN",)
    has_jobs = True

    def resolve_url(self, url: str | None) -> str:
        # The deployment id wins over a recorded URL: the API base may be overridden.
        if self.endpoint and not self.local:
            return f"{self.api()}/deployments/{self.endpoint}/predictions"
        return super().resolve_url(url)

    def api(self) -> str:
        return (os.environ.get(API_URL_ENV) or API_URL).rstrip("/")

    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"} if self.token else {}

    def download_headers(self, url: str) -> dict[str, str]:
        host = urlsplit(url).hostname or ""
        ours = host in TOKEN_HOSTS or host.endswith(".replicate.delivery")
        return self.auth() if ours and not self.local else {}

    # -- calls ---------------------------------------------------------------------------------
    def create(self, inputs: dict[str, Any], *, wait: float | None = None) -> Request:
        if self.local:
            # Cog's idempotent create, with our id: Ctrl-C can cancel it while we wait for the
            # answer. 409: the previous prediction still holds the slot for a moment.
            url = f"{self.url}/predictions/{uuid.uuid4().hex}"
            return create("PUT", url, json={"input": inputs}, retry_on=frozenset({409, 429}),
                          pause=0.02, cancel=Request("POST", f"{url}/cancel"))
        headers = self.headers()
        if wait:
            headers["Prefer"] = f"wait={max(1, min(60, round(wait)))}"
        return create("POST", self.url, json={"input": inputs}, headers=headers, timeout=wait)

    def read(self, reply: Reply, inputs: dict[str, Any], job: Job | None = None) -> Job:
        if not reply.ok or not isinstance(reply.body, dict) or "status" not in reply.body:
            if reply.ok:
                raise CallError(self.name, f"unexpected answer: {reply.body!r:.300}",
                                kind="protocol", inputs=inputs)
            raise self.error(reply, inputs)
        body = reply.body
        status = body["status"]
        state = STATES.get(status, State.RUNNING)  # an unknown status: keep waiting
        urls = body.get("urls") or {}
        pid = body.get("id")
        error = body.get("error")
        if error and body.get("logs"):
            error = f"{error}\n  logs: ...{body['logs'][-500:]}"
        if self.local:
            return Job(state, pid, body.get("output"), error and str(error), status, body)
        get = urls.get("get") or (f"{self.api()}/predictions/{pid}" if pid else None)
        cancel = urls.get("cancel") or (f"{self.api()}/predictions/{pid}/cancel" if pid else None)
        return Job(state, pid, body.get("output"), error and str(error), status, body,
                   next=Request("GET", get, headers=self.headers()) if get else None,
                   cancel=Request("POST", cancel, headers=self.headers()) if cancel else None)

    def detail(self, body: Any) -> str:
        if self.local and isinstance(body, dict) and isinstance(body.get("detail"), list):
            parts = []  # Cog's 422: FastAPI's [{loc, msg}] -> "input 'x': msg"
            for err in body["detail"]:
                loc = [str(p) for p in err.get("loc", []) if p not in ("body", "input")]
                parts.append(f"input '{'.'.join(loc) or '(body)'}': {err.get('msg')}")
            return "; ".join(parts)
        return super().detail(body)

    def prepare(self, inputs: dict[str, Any]) -> Program:
        """Files over 256 KB go up with ``POST /files`` and travel as its ``urls.get``
        (Replicate's advice: a data: URI for small files only); locally, all inline."""
        if self.local:
            return inputs
        from portapack.spec.files import decode_data_uri

        out = dict(inputs)
        for name, value in inputs.items():
            decoded = decode_data_uri(value)
            if decoded is None or len(value) <= INLINE_LIMIT:
                continue
            data, mime = decoded
            req = Request("POST", f"{self.api()}/files", headers=self.headers(),
                          files={"content": (name, data, mime or "application/octet-stream")},
                          resend=False, retry_on=frozenset({429}))
            reply = yield Send(req)
            if not reply.ok or not isinstance(reply.body, dict):
                raise self.error(reply, {name: f"<{len(data)} bytes>"}, req.route)
            out[name] = reply.body["urls"]["get"]
        return out

    def resume(self, job_id: str) -> Job:
        if self.local:
            return super().resume(job_id)
        url = f"{self.api()}/predictions/{job_id}"
        return Job(State.QUEUED, job_id, next=Request("GET", url, headers=self.headers()),
                   cancel=Request("POST", f"{url}/cancel", headers=self.headers()))

    # -- streams -------------------------------------------------------------------------------
    def stream(self, inputs: dict[str, Any]) -> Program:
        if self.local:
            return (yield from self._local_stream(inputs))
        job = self.read((yield Send(self.create(inputs))), inputs)
        yield Seen(job)
        stream_url = (job.raw.get("urls") or {}).get("stream")
        sent = 0
        if stream_url:
            reply = yield Open(Request("GET", stream_url, headers=self.headers(
                Accept="text/event-stream", **{"Cache-Control": "no-store"})))
            if not reply.ok:
                raise self.error(reply, inputs, f"GET {urlsplit(stream_url).path}")
            while True:
                record = yield from read_sse()
                if record is None or record[0] == "__dropped__":
                    break  # cut short: the prediction itself says the rest
                event, data = record
                if event == "output":
                    sent += 1
                    yield Emit(data)
                elif event == "error":
                    raise CallError(self.name, _detail_text(data), kind="model", job_id=job.id,
                                    inputs=inputs)
                elif event == "done":
                    break
        # Without a stream URL, or after one ended or broke: poll, emitting what is new.
        wait = 0.25
        while True:
            job = self.read((yield Send(job.next)), inputs, job)
            yield Seen(job)
            items = job.output if isinstance(job.output, list) else []
            for item in items[sent:]:
                yield Emit(item)
            sent = max(sent, len(items))
            if job.done:
                self.check(job, inputs)
                if not isinstance(job.output, list) and job.output is not None and sent == 0:
                    yield Emit(job.output)
                return job
            yield Sleep(wait)
            wait = min(2.0, wait * 1.5)

    def _local_stream(self, inputs: dict[str, Any]) -> Program:
        req = create("POST", f"{self.url}/predictions", json={"input": inputs},
                     headers={"Accept": "text/event-stream"}, retry_on=frozenset({409}), pause=0.02)
        reply = yield Open(req)
        if not reply.ok:
            raise self.error(reply, inputs, req.route)
        final: dict[str, Any] = {}
        while True:
            record = yield from read_sse()
            if record is None:
                break
            if record[0] == "__dropped__":
                raise CallError(self.name, "the stream broke off", kind="protocol", inputs=inputs)
            event, data = record
            if event == "output":
                yield Emit(json.loads(data)["chunk"])
            elif event == "completed":
                final = json.loads(data)
        job = Job(STATES.get(final.get("status"), State.FAILED), final.get("id"),
                  final.get("output"), final.get("error") or (None if final else
                                                              "the stream ended without a result"),
                  final.get("status"), final)
        return self.check(job, inputs)

    def route_url(self, route: str) -> str:
        raise CallError(self.name, "a server: project on Cog maps its routes onto typed inputs; "
                        "call it with predict(), not a raw route", kind="input")

    def openai_base(self) -> str | None:
        return None


def _detail_text(data: str) -> str:
    try:
        parsed = json.loads(data)
    except ValueError:
        return data
    return str(parsed.get("detail", parsed)) if isinstance(parsed, dict) else str(parsed)

