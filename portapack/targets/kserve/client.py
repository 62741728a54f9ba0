"""Calling a KServe InferenceService (your own cluster) and KServe's model server run locally
(``portapack serve --target kserve``): the v1 protocol as the generated ``model.py`` speaks it.

``POST {url}/v1/models/{name}:predict`` with ``{"instances": [inputs]}`` answers
``{"predictions": [output]}``; errors are ``{"error": "..."}``: 400 for a bad input (the
message names it), 500 when the predictor raised, 404 for a model name the server does not
serve, 503 while the model is not ready. A streaming model answers server-sent events with no
content type: ``data: <item as JSON>`` per item, and ``event: error`` + ``data: {"error"}``
when the predictor fails after the 200 was sent.

``{url}`` is the InferenceService's ``status.url`` (what ``portapack deploy`` records) and
``{name}`` its name, which is the spec's (``--endpoint`` as ``namespace/name`` or a URL ending
in ``/v1/models/NAME`` say it otherwise). No auth by default: a cluster behind an auth proxy
takes ``Authorization: Bearer $KSERVE_TOKEN``. KServe has no job API: calls answer directly.
"""

from __future__ import annotations

import json
import re
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
    read_sse,
    sse_events,
)

TOKEN_ENV = "KSERVE_TOKEN"
# A URL already naming the model: {base}/v1/models/{name}[:predict]
MODEL_URL = re.compile(r"^(?P<base>.*?)/v1/models/(?P<name>[^/:]+)(?::predict)?/?$")
# A predict starts work: sent again only on 429 and on 503, which KServe answers while the
# model is not ready (ModelNotReady) and an ingress or Knative while no replica is routable,
# before anything ran. A 500 is the predictor's own failure; 502/504 may come after it ran.
RESEND = frozenset({429, 503})
HOLD = 3600.0  # a predict is held until it answers: the call's deadline is the bound


class KserveTransport(Transport):
    platform = "KServe"
    local_name = "KServe's model server"
    token_env = (TOKEN_ENV,)

    def resolve_url(self, url: str | None) -> str:
        url = super().resolve_url(url).rstrip("/")
        named = MODEL_URL.match(url)
        self.model_name: str | None
        if named:
            self.model_name = named["name"]
            return named["base"]
        # --endpoint / the deploy record: "namespace/name"; else the spec's name
        self.model_name = self.endpoint.rpartition("/")[2] if self.endpoint else self.model
        return url

    def default_url(self) -> str:
        raise CallError(self.platform, "no URL: pass url= (--url) with the InferenceService's "
                        "status.url (kubectl get inferenceservice NAME -o "
                        "jsonpath='{.status.url}'), or deploy first", kind="not_found")

    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"} if self.token else {}

    @property
    def predict_url(self) -> str:
        if not self.model_name:
            raise CallError(self.name, "no model name: pass project= (the spec's name), "
                            "endpoint='NAME', or a URL ending in /v1/models/NAME", kind="not_found")
        return f"{self.url}/v1/models/{self.model_name}:predict"

    # -- the calls ---------------------------------------------------------------------------
    def create(self, inputs: dict[str, Any], *, wait: float | None = None) -> Request:
        return create("POST", self.predict_url, json={"instances": [inputs]},
                      headers=self.headers(), retry_on=RESEND, timeout=HOLD)

    def read(self, reply: Reply, inputs: dict[str, Any], job: Job | None = None) -> Job:
        if not reply.ok:
            raise self.error(reply, inputs)
        body = reply.body
        if isinstance(body, str) and _is_sse(body):  # a streaming model's events, read whole
            items = list(self._events(body, inputs))
            return Job(State.SUCCEEDED, output=items, raw_status=str(reply.status), raw=body)
        if not isinstance(body, dict) or not isinstance(body.get("predictions"), list) \
                or len(body["predictions"]) != 1:
            raise CallError(self.name, f"unexpected answer (not {{\"predictions\": [one]}}): "
                            f"{body!r:.300}", kind="protocol", http_status=reply.status)
        return Job(State.SUCCEEDED, output=body["predictions"][0],
                   raw_status=str(reply.status), raw=body)

    def _events(self, text: str, inputs: dict[str, Any]):
        for record in re.split(r"\r?\n\r?\n", text):
            lines = record.splitlines()
            if any(line and not line.startswith(":") for line in lines):
                yield self._item(sse_events(lines), inputs)

    def _item(self, event: tuple[str | None, str], inputs: dict[str, Any]) -> Any:
        """One server-sent event's item; an ``error`` event is the model's failure."""
        name, data = event
        try:
            value = json.loads(data)
        except ValueError:
            raise CallError(self.name, f"a stream event that is not JSON: {data!r:.300}",
                            kind="protocol", inputs=inputs) from None
        if name == "error":
            raise CallError(self.name, self.detail(value), kind="model", inputs=inputs, raw=value)
        return value

    def stream(self, inputs: dict[str, Any]) -> Program:
        req = self.create(inputs)
        reply = yield Open(req)
        if not reply.ok:
            raise self.error(reply, inputs, req.route)
        if "json" in reply.headers.get("content-type", ""):  # not a generator: one answer
            lines = []
            while (line := (yield Line())) not in (None, DROPPED):
                lines.append(line)
            job = self.read(Reply(reply.status, reply.headers, json.loads("\n".join(lines))),
                            inputs)
            yield Emit(job.output)
            return job
        while True:
            event = yield from read_sse()
            if event is None:
                return Job(State.SUCCEEDED)
            if event[0] == "__dropped__":
                raise CallError(self.name, "the stream broke off before its end (the model or "
                                "its replica failed mid-stream)", kind="model", inputs=inputs)
            yield Emit(self._item(event, inputs))

    # -- errors --------------------------------------------------------------------------------
    def error(self, reply: Reply, inputs: dict[str, Any] | None, route: str | None = None,
              kind: str | None = None) -> CallError:
        if kind is None and reply.status == 500:
            kind = "model"  # the predictor raised (KServe's InferenceError or any exception)
        found = super().error(reply, inputs, route, kind)
        if reply.status != 404 or not self.model_name:
            return found
        hint = (" (the model name is the InferenceService's, the spec's name by default: "
                "pass endpoint='NAME' or a URL ending in /v1/models/NAME)")
        return CallError(self.name, found.detail + hint, kind=found.kind, http_status=404,
                         inputs=inputs, raw=reply.body, route=route)


def _is_sse(text: str) -> bool:
    return text.lstrip().startswith(("data:", "event:", ":"))
