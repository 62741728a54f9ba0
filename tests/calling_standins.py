"""Local stand-ins for the four clouds' inference APIs, for the client's tests.

Each is a real HTTP/1.1 server on 127.0.0.1 that records every request (method, path, query,
lower-case headers, parsed body) and refuses what the platform would refuse. They play what
the client must live with:

- a cold start: a job queued for ``cold`` seconds before it runs;
- ``inject[(METHOD, path regex)]``: a list of answers served first, in order: ``(status,
  headers, body)`` or ``"drop"`` (the connection closed with no answer);
- a stream cut mid-body (``drop_stream_after`` items);
- a failed job (the model raises: inputs with ``"fail": true``).

Routes and shapes (see /tmp/research/client.md, sections 1-4):
- Replicate: POST /v1/deployments/{owner}/{name}/predictions, GET /v1/predictions/{id},
  POST /v1/predictions/{id}/cancel, GET /v1/stream/{id} (SSE). Request bodies are validated
  against Replicate's OpenAPI document, read from /work/shared/schemas (never copied here),
  and so is every prediction it answers.
- RunPod: POST /v2/{id}/run, POST /v2/{id}/runsync?wait=ms, GET /v2/{id}/status/{job},
  GET /v2/{id}/stream/{job} ({"status", "stream": [{"output"}]}, each item once),
  POST /v2/{id}/cancel/{job}.
- Baseten: POST /environments/production/predict (and /production/predict,
  /deployment/{d}/predict) with the bare inputs and ``Authorization: Api-Key``.
- Modal: POST / with the bare inputs; 303 to a result URL while "slow".
- KServe (v1, as the kserve target's model.py serves it): POST /v1/models/{name}:predict with
  {"instances": [inputs]} -> {"predictions": [output]}, {"error"} on 400/404/500; a stream is
  server-sent events with no content type, ``event: error`` when the model fails mid-stream.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import os
import re
import socket
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

REPLICATE_SCHEMA = Path(os.environ.get("PORTAPACK_REPLICATE_OPENAPI",
                                       "/work/shared/schemas/replicate-openapi.json"))


def model(inputs: dict[str, Any]) -> Any:
    """The stand-ins' model: echoes its inputs; ``fail`` raises; ``items`` is a stream."""
    if inputs.get("fail"):
        raise RuntimeError(f"the model refused {inputs.get('text')!r}")
    return {"echo": inputs.get("text"), "n": len(str(inputs.get("text", "")))}


def items_of(inputs: dict[str, Any]) -> list[Any]:
    return [w + " " for w in str(inputs.get("text", "")).split()]


@dataclass
class Seen:
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: Any
    at: float = field(default_factory=time.monotonic)
    raw: bytes = b""


@dataclass
class Stream:
    chunks: list[bytes]
    content_type: str
    drop_after: int | None = None  # close the connection after this many chunks
    pause: float = 0.0


class StandIn:
    """The HTTP plumbing: subclasses implement ``answer``."""

    def __init__(self, token: str | None = "tok"):
        self.token = token
        self.requests: list[Seen] = []
        self.refused: list[str] = []
        self.inject: dict[tuple[str, str], list[Any]] = {}
        self.lock = threading.Lock()
        self.ids = itertools.count(1)
        outer = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _any(self) -> None:
                split = urlsplit(self.path)
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                try:
                    body = json.loads(raw) if raw else None
                except ValueError:
                    body = raw.decode("utf-8", "replace")
                seen = Seen(self.command, split.path,
                            {k: v[0] for k, v in parse_qs(split.query).items()},
                            {k.lower(): v for k, v in self.headers.items()}, body, raw=raw)
                with outer.lock:
                    outer.requests.append(seen)
                    answer = outer._injected(seen)
                if answer is None:
                    answer = outer.answer(seen)
                self._send(answer)

            do_GET = do_POST = do_PUT = do_DELETE = _any  # noqa: N815

            def _send(self, answer: Any) -> None:
                if answer == "drop":
                    self.close_connection = True
                    self.connection.shutdown(socket.SHUT_RDWR)
                    return
                if isinstance(answer, Stream):
                    return self._stream(answer)
                status, headers, body = answer
                if isinstance(body, (dict, list)) or body is None and status != 303:
                    data = json.dumps(body).encode()
                    headers = {"Content-Type": "application/json", **headers}
                else:
                    data = (body or "").encode()
                    headers = {"Content-Type": "text/plain", **headers}
                self.send_response(status)
                for k, v in headers.items():
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def _stream(self, s: Stream) -> None:
                self.send_response(200)
                if s.content_type:  # KServe's StreamingResponse sends none
                    self.send_header("Content-Type", s.content_type)
                self.send_header("Transfer-Encoding", "chunked")
                self.end_headers()
                for n, chunk in enumerate(s.chunks):
                    if s.drop_after is not None and n >= s.drop_after:
                        self.wfile.flush()
                        self.close_connection = True
                        self.connection.shutdown(socket.SHUT_RDWR)
                        return
                    self.wfile.write(f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n")
                    self.wfile.flush()
                    time.sleep(s.pause)
                self.wfile.write(b"0\r\n\r\n")

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()

    def _injected(self, seen: Seen) -> Any:
        for (method, pattern), answers in self.inject.items():
            if method == seen.method and re.fullmatch(pattern, seen.path) and answers:
                return answers.pop(0)
        return None

    def refuse(self, status: int, why: str, body: Any = None) -> tuple[int, dict, Any]:
        self.refused.append(why)
        return status, {}, body if body is not None else {"detail": why}

    def calls(self, method: str, pattern: str) -> list[Seen]:
        return [r for r in self.requests if r.method == method and re.fullmatch(pattern, r.path)]

    def answer(self, seen: Seen) -> Any:
        raise NotImplementedError


# -- Replicate ---------------------------------------------------------------------------------
class ReplicateStandIn(StandIn):
    """Replicate's predictions API for one deployment, ``acme/echo`` (``streams`` True: the
    model yields ``items_of(inputs)``, and predictions carry ``urls.stream``)."""

    PREFER = re.compile(r"^wait(=([1-9]|[1-9][0-9]|60))?$")

    def __init__(self, *, cold: float = 0.0, run: float = 0.2, streams: bool = False,
                 drop_stream_after: int | None = None, token: str = "r8-tok"):
        super().__init__(token)
        import jsonschema
        from referencing import Registry, Resource
        from referencing.jsonschema import DRAFT202012

        self.document = _nullable(json.loads(REPLICATE_SCHEMA.read_text(encoding="utf-8")))
        registry = Registry().with_resource("urn:r8", Resource(self.document, specification=DRAFT202012))

        def validator(name: str) -> Any:
            return jsonschema.Draft202012Validator(
                {"$ref": f"urn:r8#/components/schemas/{name}"}, registry=registry)

        self.request_schema = validator("schemas_prediction_request")
        self.response_schema = validator("schemas_prediction_response")
        self.cold, self.run, self.streams = cold, run, streams
        self.drop_stream_after = drop_stream_after
        self.file_schema = validator("schemas_file_response")
        self.predictions: dict[str, dict[str, Any]] = {}
        self.files: dict[str, tuple[str, bytes, str]] = {}  # id -> (filename, content, type)
        self.answered: list[str] = []  # schema problems in our own answers (must stay empty)

    def _auth(self, seen: Seen) -> bool:
        return seen.headers.get("authorization") == f"Bearer {self.token}"

    def prediction(self, pid: str) -> dict[str, Any]:
        p = self.predictions[pid]
        age = time.monotonic() - p["created"]
        status, output, error = "starting", None, None
        if p["canceled"]:
            status = "canceled"
        elif age >= self.cold + self.run:
            try:
                output = items_of(p["input"]) if self.streams else model(p["input"])
                status = "succeeded"
            except RuntimeError as exc:
                status, error = "failed", str(exc)
        elif age >= self.cold:
            status = "processing"
        base = self.url + "/v1"
        urls = {"web": f"https://replicate.com/p/{pid}", "get": f"{base}/predictions/{pid}",
                "cancel": f"{base}/predictions/{pid}/cancel"}
        if self.streams:
            urls["stream"] = f"{base}/stream/{pid}"
        body = {"id": pid, "model": "acme/echo", "version": "v1", "input": p["input"],
                "output": output, "data_removed": False, "error": error, "status": status,
                "created_at": "2026-12-03T00:00:00Z", "logs": "", "urls": urls}
        problems = [e.message for e in self.response_schema.iter_errors(body)]
        self.answered.extend(problems)
        return body

    def answer(self, seen: Seen) -> Any:
        if not self._auth(seen):
            return self.refuse(401, "missing or wrong token",
                               {"title": "Unauthenticated", "detail": "You did not pass a valid "
                                "authentication token", "status": 401})
        m = re.fullmatch(r"/v1/deployments/([^/]+)/([^/]+)/predictions", seen.path)
        if m and seen.method == "POST":
            if f"{m.group(1)}/{m.group(2)}" != "acme/echo":
                return 404, {}, {"detail": "Not found.", "status": 404}
            errors = [e.message for e in self.request_schema.iter_errors(seen.body)]
            prefer = seen.headers.get("prefer")
            if prefer is not None and not self.PREFER.match(prefer):
                errors.append(f"Prefer: {prefer!r} does not match the document's pattern")
            if errors:
                return self.refuse(422, "; ".join(errors))
            pid = f"p{next(self.ids)}"
            self.predictions[pid] = {"input": seen.body["input"], "created": time.monotonic(),
                                     "canceled": False}
            return 201, {}, self.prediction(pid)
        if seen.path == "/v1/files" and seen.method == "POST":
            return self.create_file(seen)
        m = re.fullmatch(r"/v1/predictions/([^/]+)(/cancel)?", seen.path)
        if m and m.group(1) in self.predictions:
            if m.group(2):
                if seen.method != "POST":
                    return self.refuse(405, "cancel is POST")
                self.predictions[m.group(1)]["canceled"] = True
            elif seen.method != "GET":
                return self.refuse(405, "predictions.get is GET")
            return 200, {}, self.prediction(m.group(1))
        m = re.fullmatch(r"/v1/stream/([^/]+)", seen.path)
        if m and m.group(1) in self.predictions:
            if seen.headers.get("accept") != "text/event-stream":
                return self.refuse(406, "the stream needs Accept: text/event-stream")
            p = self.predictions[m.group(1)]
            chunks = [f"event: output\nid: {n}\ndata: {item}\n\n".encode()
                      for n, item in enumerate(items_of(p["input"]))]
            chunks.append(b"event: done\ndata: {}\n\n")
            return Stream(chunks, "text/event-stream", self.drop_stream_after, pause=0.02)
        return 404, {}, {"detail": "Not found.", "status": 404}

    def create_file(self, seen: Seen) -> Any:
        """files.create: multipart/form-data with a ``content`` part (filename <= 255 bytes)."""
        from email.parser import BytesParser
        from email.policy import HTTP

        kind = seen.headers.get("content-type", "")
        if not kind.startswith("multipart/form-data"):
            return self.refuse(400, f"files.create takes multipart/form-data, not {kind!r}")
        message = BytesParser(policy=HTTP).parsebytes(f"Content-Type: {kind}\r\n\r\n".encode() + seen.raw)
        parts = {p.get_param("name", header="content-disposition"): p for p in message.iter_parts()}
        content = parts.get("content")
        if content is None or len((content.get_filename() or "").encode()) > 255:
            return self.refuse(400, f"files.create needs a content part with a filename: {list(parts)}")
        fid = f"f{next(self.ids)}"
        data = content.get_payload(decode=True)
        self.files[fid] = (content.get_filename(), data, content.get_content_type())
        body = {"id": fid, "content_type": content.get_content_type(), "size": len(data),
                "checksums": {"sha256": hashlib.sha256(data).hexdigest()},
                "metadata": {}, "created_at": "2026-12-03T00:00:00Z",
                "expires_at": "2026-12-04T00:00:00Z", "urls": {"get": f"{self.url}/v1/files/{fid}"}}
        self.answered.extend(e.message for e in self.file_schema.iter_errors(body))
        return 201, {}, body

def _nullable(node: Any) -> Any:
    """The document writes OpenAPI 3.0's ``nullable: true``, which JSON Schema ignores: read it
    as ``type: [T, "null"]`` (what it means), in memory."""
    if isinstance(node, dict):
        node = {k: _nullable(v) for k, v in node.items()}
        if node.get("nullable") is True and isinstance(node.get("type"), str):
            node["type"] = [node["type"], "null"]
        return node
    if isinstance(node, list):
        return [_nullable(v) for v in node]
    return node


# -- RunPod ------------------------------------------------------------------------------------
class RunpodStandIn(StandIn):
    """RunPod's job API for endpoint ``ep1``: jobs queue ``cold`` s, run ``run`` s; a stream
    job makes one more item available per ``run / len(items)`` s."""

    BODY_KEYS = {"input", "webhook", "policy", "s3Config"}

    def __init__(self, *, cold: float = 0.0, run: float = 0.2, token: str = "rp-key",
                 endpoint: str = "ep1"):
        super().__init__(token)
        self.cold, self.run, self.endpoint = cold, run, endpoint
        self.jobs: dict[str, dict[str, Any]] = {}

    def state(self, jid: str) -> dict[str, Any]:
        j = self.jobs[jid]
        age = time.monotonic() - j["created"]
        if j["canceled"]:
            return {"id": jid, "status": "CANCELLED"}
        if age < self.cold:
            return {"id": jid, "status": "IN_QUEUE"}
        if age < self.cold + self.run:
            return {"id": jid, "status": "IN_PROGRESS", "delayTime": int(self.cold * 1000)}
        try:
            output = model(j["input"])
        except RuntimeError as exc:
            error = json.dumps({"error_type": "RuntimeError", "error_message": str(exc),
                                "error_traceback": "Traceback ...", "hostname": "h",
                                "worker_id": "w", "runpod_version": "1.12.0"})
            return {"id": jid, "status": "FAILED", "error": error}
        return {"id": jid, "status": "COMPLETED", "output": output,
                "delayTime": int(self.cold * 1000), "executionTime": int(self.run * 1000)}

    def answer(self, seen: Seen) -> Any:
        auth = seen.headers.get("authorization")
        if auth not in (f"Bearer {self.token}", self.token):
            return self.refuse(401, "unauthorized", "Unauthorized")
        m = re.fullmatch(r"/v2/([^/]+)/(run|runsync|status|stream|cancel)(?:/([^/]+))?", seen.path)
        if not m or m.group(1) != self.endpoint:
            return 404, {}, {"error": "endpoint not found"}
        route, jid = m.group(2), m.group(3)
        if route in ("run", "runsync"):
            if seen.method != "POST":
                return self.refuse(405, f"{route} is POST")
            body = seen.body
            if (not isinstance(body, dict) or not isinstance(body.get("input"), dict)
                    or set(body) - self.BODY_KEYS):
                return self.refuse(400, f"body must be {{input: {{...}}}}: got {body!r}",
                                   {"error": "invalid request body"})
            wait = seen.query.get("wait")
            if wait is not None and (route != "runsync" or not 1000 <= int(wait) <= 300000):
                return self.refuse(400, f"wait={wait}")
            jid = f"job-{next(self.ids)}"
            self.jobs[jid] = {"input": body["input"], "created": time.monotonic(),
                              "canceled": False, "sent": 0}
            if route == "run":
                return 200, {}, {"id": jid, "status": "IN_QUEUE"}
            held = min(int(wait or 90000) / 1000, 5)
            end = time.monotonic() + held
            while time.monotonic() < end and self.state(jid)["status"] in ("IN_QUEUE", "IN_PROGRESS"):
                time.sleep(0.05)
            return 200, {}, self.state(jid)
        if jid not in self.jobs:
            return 404, {}, {"error": "job not found"}
        if route == "cancel":
            if seen.method != "POST":
                return self.refuse(405, "cancel is POST")
            self.jobs[jid]["canceled"] = True
            return 200, {}, {"id": jid, "status": "CANCELLED"}
        if seen.method != "GET":
            return self.refuse(405, f"{route} is GET")
        if route == "status":
            return 200, {}, self.state(jid)
        j = self.jobs[jid]  # stream: the items made so far, each delivered once
        items = items_of(j["input"])
        age = time.monotonic() - j["created"] - self.cold
        ready = 0 if age < 0 else min(len(items), int(age / (self.run / max(1, len(items)))) + 1)
        fresh, j["sent"] = items[j["sent"]:ready], max(j["sent"], ready)
        status = self.state(jid)["status"]
        if status == "COMPLETED" and j["sent"] < len(items):
            status = "IN_PROGRESS"
        return 200, {}, {"status": status, "stream": [{"output": i} for i in fresh]}


# -- Baseten -----------------------------------------------------------------------------------
class BasetenStandIn(StandIn):
    """Baseten's inference host: predict routes with the bare inputs; ``streams``: the model
    is a generator (NDJSON, or ``text`` items as raw text), cut after ``drop_stream_after``."""

    ROUTES = re.compile(r"/(environments/production|production|development|deployment/[^/]+)/predict")

    def __init__(self, *, streams: bool = False, text: bool = False,
                 drop_stream_after: int | None = None, token: str = "bt-key"):
        super().__init__(token)
        self.streams, self.text, self.drop_stream_after = streams, text, drop_stream_after

    def answer(self, seen: Seen) -> Any:
        if seen.headers.get("authorization") not in (f"Api-Key {self.token}", f"Bearer {self.token}"):
            return self.refuse(401, "bad key", {"error": "Invalid API key"})
        if seen.method != "POST" or not self.ROUTES.fullmatch(seen.path):
            return 404, {}, {"error": "Model or route not found"}
        body = seen.body
        if not isinstance(body, dict) or {"input", "model_input"} & set(body):
            return self.refuse(400, f"the inputs must be the bare body: {body!r}",
                               {"error": "Input Parsing Error: unexpected field"})
        if self.streams:
            items = items_of(body)
            chunks = [(i if self.text else json.dumps(i) + "\n").encode() for i in items]
            return Stream(chunks, "application/octet-stream", self.drop_stream_after, pause=0.02)
        try:
            return 200, {}, model(body)
        except RuntimeError:
            return 500, {"X-BASETEN-ERROR-SOURCE": "04", "X-BASETEN-ERROR-CODE": "600"}, \
                {"error": "Internal Server Error (in model/chainlet)."}


# -- Modal -------------------------------------------------------------------------------------
class ModalStandIn(StandIn):
    """A Modal web endpoint at ``/``: the bare inputs; ``slow`` answers 303 to a result URL
    that itself answers 303 ``slow`` times before the output; ``proxy_auth`` needs
    Modal-Key/Modal-Secret."""

    def __init__(self, *, slow: int = 0, streams: bool = False, proxy_auth: bool = False,
                 drop_stream_after: int | None = None):
        super().__init__(None)
        self.slow, self.streams, self.proxy_auth = slow, streams, proxy_auth
        self.drop_stream_after = drop_stream_after
        self.pending: dict[str, dict[str, Any]] = {}

    def answer(self, seen: Seen) -> Any:
        if self.proxy_auth and not (seen.headers.get("modal-key") == "wk-1"
                                    and seen.headers.get("modal-secret") == "ws-1"):
            return 401, {}, "modal-http: missing credentials for proxy authorization"
        if seen.path != "/":
            return 404, {}, {"detail": "Not Found"}
        if seen.method == "GET" and "__modal_function_call_id" in seen.query:
            if seen.body is not None:
                return self.refuse(400, "the result URL is read with a bare GET")
            fc = seen.query["__modal_function_call_id"]
            p = self.pending[fc]
            p["left"] -= 1
            if p["left"] > 0:
                return 303, {"Location": f"/?__modal_function_call_id={fc}"}, None
            return self._result(p["inputs"])
        if seen.method != "POST":
            return 405, {}, {"detail": "Method Not Allowed"}
        if not isinstance(seen.body, dict) or "input" in seen.body:
            return self.refuse(422, f"the inputs must be the bare body: {seen.body!r}")
        if not isinstance(seen.body.get("text", ""), str):
            return 422, {}, {"detail": "input 'text': Input should be a valid string"}
        if self.slow:
            fc = f"fc-{next(self.ids)}"
            self.pending[fc] = {"inputs": seen.body, "left": self.slow}
            return 303, {"Location": f"/?__modal_function_call_id={fc}"}, None
        return self._result(seen.body)

    def _result(self, inputs: dict[str, Any]) -> Any:
        if self.streams:
            lines = [(i + "\n").encode() for i in items_of(inputs)]
            return Stream(lines, "text/plain; charset=utf-8", self.drop_stream_after, pause=0.02)
        try:
            return 200, {}, model(inputs)
        except RuntimeError as exc:
            return 500, {}, {"detail": str(exc)}


# -- KServe ------------------------------------------------------------------------------------
class KserveStandIn(StandIn):
    """An InferenceService ``name`` as the kserve target's model.py answers through KServe's
    model server; ``token``: an auth proxy in front that wants ``Bearer <token>``; ``streams``:
    the model is a generator (a ``fail`` input fails it after the first item)."""

    def __init__(self, *, name: str = "echo", token: str | None = None, streams: bool = False,
                 drop_stream_after: int | None = None):
        super().__init__(token)
        self.name, self.streams, self.drop_stream_after = name, streams, drop_stream_after

    def answer(self, seen: Seen) -> Any:
        if self.token and seen.headers.get("authorization") != f"Bearer {self.token}":
            return 401, {}, "Jwt is missing"  # what an Envoy/Istio JWT check answers
        m = re.fullmatch(r"/v1/models/([^/:]+):predict", seen.path)
        if not m or seen.method != "POST":
            return 404, {}, {"detail": "Not Found"}
        if m.group(1) != self.name:
            return 404, {}, {"error": f"Model with name {m.group(1)} does not exist."}
        if seen.headers.get("content-type") != "application/json":  # else KServe passes bytes
            return self.refuse(400, f"content-type {seen.headers.get('content-type')!r}",
                               {"error": "the body is not JSON"})
        body = seen.body
        if (not isinstance(body, dict) or set(body) != {"instances"}
                or not isinstance(body["instances"], list) or len(body["instances"]) != 1
                or not isinstance(body["instances"][0], dict)):
            return self.refuse(400, f"not one instance: {body!r}",
                               {"error": 'the body must be {"instances": [{...inputs...}]}'})
        inputs = body["instances"][0]
        if not isinstance(inputs.get("text", ""), str):
            return 400, {}, {"error": "input 'text': Input should be a valid string"}
        if self.streams:
            events = [f"data: {json.dumps(i)}\n\n".encode() for i in items_of(inputs)]
            if inputs.get("fail"):
                error = json.dumps({"error": f"RuntimeError: the model refused {inputs.get('text')!r}"})
                events = events[:1] + [f"event: error\ndata: {error}\n\n".encode()]
            return Stream(events, "", self.drop_stream_after, pause=0.02)
        try:
            return 200, {}, {"predictions": [model(inputs)]}
        except RuntimeError as exc:
            return 500, {}, {"error": f"RuntimeError: {exc}"}  # model.py raises InferenceError
