"""Calling a Truss model: Baseten's predict URL and Truss's own server (``portapack serve``).

Both take the inputs as the bare JSON body and answer the output (``{"error": ...}`` on
failure), synchronously: Baseten parks a request during a cold start rather than failing it,
and its async API keeps no output (it goes to a webhook), so calls here are plain requests.
A generator streams bytes: text as it comes for ``Iterator[str]``, else one JSON line per item.
"""

from __future__ import annotations

import json
from typing import Any

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

LOCAL_ROUTE = "/v1/models/model:predict"


class BasetenTransport(Transport):
    platform = "Baseten"
    local_name = "Truss's server"
    token_env = ("BASETEN_API_KEY", "BASETEN_TRUSS_AUTH_API_KEY")

    def resolve_url(self, url: str | None) -> str:
        url = super().resolve_url(url)
        if self.local and not url.rstrip("/").endswith(":predict"):
            url = url.rstrip("/") + LOCAL_ROUTE
        return url

    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Api-Key {self.token}"} if self.token else {}

    @property
    def text_stream(self) -> bool:
        return self.predictor is None or self.predictor.output_kind == "str"

    def create(self, inputs: dict[str, Any], *, wait: float | None = None) -> Request:
        # 503: Baseten had no replica to route to yet; nothing ran, so it may be sent again.
        return create("POST", self.url, json=inputs, headers=self.headers(),
                      retry_on=frozenset({429, 503}), timeout=1200)

    def read(self, reply: Reply, inputs: dict[str, Any], job: Job | None = None) -> Job:
        if not reply.ok:
            kind = "model" if reply.status == 500 else None
            raise self.error(reply, inputs, kind=kind)
        output = reply.body
        if self.predictor is not None and self.predictor.streaming and isinstance(output, str):
            output = self._items(output)  # a stream read whole
        return Job(State.SUCCEEDED, output=output, raw_status=str(reply.status), raw=reply.body)

    def _items(self, text: str) -> list[Any]:
        if self.text_stream:
            return [text]
        return [json.loads(line) for line in text.splitlines() if line.strip()]

    def stream(self, inputs: dict[str, Any]) -> Program:
        req = self.create(inputs)
        reply = yield Open(req, text=self.text_stream)
        if not reply.ok:
            raise self.error(reply, inputs, req.route, kind="model" if reply.status == 500 else None)
        if "json" in reply.headers.get("content-type", ""):  # not a generator: one answer
            chunks = []
            while (chunk := (yield Line())) not in (None, DROPPED):
                chunks.append(chunk)
            yield Emit(json.loads("\n".join(chunks)))
            return Job(State.SUCCEEDED)
        while True:
            chunk = yield Line()
            if chunk is None:
                return Job(State.SUCCEEDED)
            if chunk is DROPPED:
                raise CallError(self.name, "the stream broke off before its end (the model "
                                "or its replica failed mid-stream)", kind="model", inputs=inputs)
            if self.text_stream:
                if chunk:
                    yield Emit(chunk)
            elif chunk.strip():
                yield Emit(json.loads(chunk))

    def route_url(self, route: str) -> str:
        if self.local:
            return self.url.removesuffix(LOCAL_ROUTE) + "/" + route.lstrip("/")
        # A custom server's routes sit beside predict: .../environments/production/sync/<route>
        base = self.url.rstrip("/").removesuffix("/predict")
        return f"{base}/sync/{route.lstrip('/')}"

    def openai_base(self) -> str | None:
        return self.route_url("/v1")

