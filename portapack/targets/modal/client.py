"""Calling a Modal app: its web endpoint (``https://...modal.run``), and the HTTP front
``portapack serve`` puts before Modal's local runtime.

Cloud: ``POST`` the bare inputs; 200 with the output, or one text line per streamed item.
A request longer than 150 s answers ``303 See Other`` to a result URL, read with ``GET``
(no body, never a new POST) until it answers. With proxy auth on, ``Modal-Key`` and
``Modal-Secret`` come from ``MODAL_KEY`` / ``MODAL_SECRET``.
Local: ``POST /predict`` with ``{"input": ...}`` answers ``{"output": ...}`` or 422
``{"error": ...}``.
"""

from __future__ import annotations

import json
import os
from typing import Any
from urllib.parse import urljoin

from portapack.calling.errors import CallError
from portapack.calling.protocol import (
    DROPPED,
    Emit,
    Job,
    Line,
    Open,
    Program,
    Reply,
    Request,
    State,
    Transport,
    create,
)

KEY_ENV, SECRET_ENV = "MODAL_KEY", "MODAL_SECRET"


class ModalTransport(Transport):
    platform = "Modal"
    local_name = "Modal's local runtime"
    token_env = (KEY_ENV,)

    def resolve_url(self, url: str | None) -> str:
        url = super().resolve_url(url)
        if not url.startswith(("http://", "https://")) or " " in url:
            # The deployer's fallback when `modal deploy` printed no web URL: not callable.
            raise CallError(self.platform, f"no web endpoint URL recorded ({url}); pass --url "
                            "https://...modal.run (Modal's dashboard shows it)", kind="not_found")
        return url

    def auth(self) -> dict[str, str]:
        secret = os.environ.get(SECRET_ENV)
        if self.token and secret:
            return {"Modal-Key": self.token, "Modal-Secret": secret}
        return {}

    def create(self, inputs: dict[str, Any], *, wait: float | None = None) -> Request:
        if self.local:
            return create("POST", f"{self.url}/predict", json={"input": inputs})
        return create("POST", self.url, json=inputs, headers=self.headers(), timeout=150)

    def read(self, reply: Reply, inputs: dict[str, Any], job: Job | None = None) -> Job:
        if reply.status == 303 and not self.local:  # still running: the result URL blocks
            location = urljoin(reply.url or self.url, reply.headers.get("location", ""))
            return Job(State.RUNNING, raw_status="303",
                       next=Request("GET", location, headers=self.headers(), timeout=150))
        if not reply.ok:
            kind = "model" if reply.status == 500 else None
            if self.local and reply.status == 422:  # the front says input or model in its text
                text = self.detail(reply.body)
                kind = "input" if text.startswith("input '") else "model"
            raise self.error(reply, inputs, kind=kind)
        body = reply.body
        if self.local:
            if not isinstance(body, dict) or "output" not in body:
                raise CallError(self.name, f"unexpected answer: {body!r:.300}", kind="protocol")
            return Job(State.SUCCEEDED, output=body["output"], raw=body)
        if isinstance(body, str) and "text/plain" in reply.headers.get("content-type", ""):
            body = [_item(line) for line in body.splitlines()]  # a stream read whole
        return Job(State.SUCCEEDED, output=body, raw=reply.body)

    def stream(self, inputs: dict[str, Any]) -> Program:
        if self.local:  # the front answers a stream as its whole list
            return (yield from super().stream(inputs))
        req = self.create(inputs)
        reply = yield Open(req)
        if not reply.ok:
            raise self.error(reply, inputs, req.route, kind="model" if reply.status == 500 else None)
        plain = "text/plain" in reply.headers.get("content-type", "")
        lines = []
        while True:
            line = yield Line()
            if line is None:
                break
            if line is DROPPED:
                raise CallError(self.name, "the stream broke off before its end", kind="model",
                                inputs=inputs)
            if plain:
                yield Emit(_item(line))
            else:
                lines.append(line)
        if not plain:  # not a generator: one JSON answer
            yield Emit(json.loads("\n".join(lines)))
        return Job(State.SUCCEEDED)

    def route_url(self, route: str) -> str:
        return self.url + "/" + route.lstrip("/")


def _item(line: str) -> Any:
    """A streamed line back to its item: JSON values were dumped, text sent as it is."""
    try:
        return json.loads(line)
    except ValueError:
        return line
