"""A local stand-in for RunPod's REST API v2, checked against RunPod's own OpenAPI document.

Every request is resolved to its operation by method and path in the vendored document
(runpod-rest-v2-openapi.json, RunPod's, 2026-08-20, read through tests/vendor_docs.py) and its
JSON body is
validated against the operation's request schema (jsonschema Draft 2020-12, ``$ref`` resolved
inside the document, so ``unevaluatedProperties: false`` refuses unknown fields as the real
API does). What the document only describes in prose is checked too: exactly one of
``gpu``/``cpu``, known pools and CPU flavours, power-of-two vCPUs, ``excludedTypes`` inside
the chosen pools, an immutable compute family. Refusals are RFC 9457 problems (422 or 400),
a wrong key gets 401. State is kept: GET lists what POST created, PATCH updates.

Use::

    with RunpodV2StandIn(api_key="k") as api:
        os.environ["PORTAPACK_RUNPOD_API_URL"] = api.url   # http://127.0.0.1:PORT/v2
        ...
        assert api.refused == []
        api.requests  # every request: .method, .path, .headers (lower-case), .body

``gpus`` replaces the catalog GET /v2/catalog/gpus serves (checked against the document's
ListGpuTypesResponse); ``failures[(METHOD, path regex)] = (status, body)`` injects an answer.
"""

from __future__ import annotations

import functools
import itertools
import json
import re
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

import jsonschema
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012
from vendor_docs import vendor_json

_URI = "urn:runpod-rest-v2-openapi"


def document() -> dict[str, Any]:
    """RunPod's OpenAPI document (a test without it is skipped: see tests/vendor_docs.py)."""
    return vendor_json("runpod-rest-v2-openapi.json")


@functools.cache
def _registry() -> Registry:
    return Registry().with_resource(_URI, Resource(document(), specification=DRAFT202012))

# The catalog served by default: a GpuType per card of each serverless pool (ids, pools and
# memory as ../shared/PLATFORMS.md lists them; prices per GPU-hour from its June 2026 list).
_POOLS = {
    "AMPERE_16": (16, 0.58, ["NVIDIA RTX A4000", "NVIDIA RTX 4000 Ada Generation"]),
    "AMPERE_24": (24, 0.68, ["NVIDIA L4", "NVIDIA RTX A5000", "NVIDIA GeForce RTX 3090"]),
    "ADA_24": (24, 1.12, ["NVIDIA GeForce RTX 4090"]),
    "AMPERE_48": (48, 1.22, ["NVIDIA RTX A6000", "NVIDIA A40"]),
    "ADA_48_PRO": (48, 1.91, ["NVIDIA L40S", "NVIDIA L40", "NVIDIA RTX 6000 Ada Generation"]),
    "AMPERE_80": (80, 2.74, ["NVIDIA A100 80GB PCIe", "NVIDIA A100-SXM4-80GB"]),
    "ADA_80_PRO": (80, 4.18, ["NVIDIA H100 80GB HBM3", "NVIDIA H100 PCIe"]),
    "HOPPER_141": (141, 5.58, ["NVIDIA H200"]),
    "BLACKWELL_96": (96, 4.00, ["NVIDIA RTX PRO 6000 Blackwell Server Edition"]),
    "BLACKWELL_180": (180, 8.64, ["NVIDIA B200"]),
}
DEFAULT_GPUS: list[dict[str, Any]] = [
    {"id": card, "name": card.removeprefix("NVIDIA ").removeprefix("GeForce "), "pool": pool,
     "manufacturer": "NVIDIA", "memory": memory, "secure": True, "community": False,
     "price": {"secure": round(price * 0.8, 2), "community": 0.0, "serverless": price},
     "maxCount": {"secure": 8, "community": 0}}
    for pool, (memory, price, cards) in _POOLS.items() for card in cards
] + [{"id": "NVIDIA GeForce RTX 3070", "name": "RTX 3070", "pool": None, "manufacturer": "NVIDIA",
      "memory": 8, "secure": False, "community": True,
      "price": {"secure": 0.0, "community": 0.13}, "maxCount": {"secure": 0, "community": 8}}]
CPU_FLAVORS = ("cpu3c", "cpu3g", "cpu5c", "cpu5g")  # GET /v2/catalog/cpus ids
MAX_VCPUS = 32


def validator(pointer: str) -> jsonschema.Draft202012Validator:
    """A validator for the schema at ``pointer`` (e.g. ``#/components/schemas/Endpoint``)."""
    return jsonschema.Draft202012Validator({"$ref": _URI + pointer}, registry=_registry())


def schema_errors(pointer: str, instance: Any) -> list[str]:
    return [f"{'.'.join(map(str, e.absolute_path)) or 'body'}: {e.message}"
            for e in sorted(validator(pointer).iter_errors(instance), key=lambda e: list(e.path))]


@functools.cache
def operations() -> list[tuple[str, re.Pattern[str], str, dict]]:
    ops = []
    for template, item in document()["paths"].items():
        pattern = re.compile("^" + re.sub(r"\\\{[^}]+\\\}", "([^/]+)", re.escape(template)) + "$")
        for method, op in item.items():
            if method in ("get", "post", "put", "patch", "delete"):
                ops.append((method.upper(), pattern, template, op))
    return ops



@dataclass
class Recorded:
    method: str
    path: str  # with the query string
    headers: dict[str, str]  # lower-cased names
    body: Any
    raw: bytes
    operation: str | None = None  # operationId in the document
    status: int = 0
    answer: Any = None
    at: float = field(default_factory=time.time)


def problem(status: int, title: str, detail: str, errors: list[str] | None = None) -> dict:
    body: dict[str, Any] = {"title": title, "status": status, "detail": detail}
    if errors:
        body["errors"] = errors
    return body


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def _handle(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        headers = {k.lower(): v for k, v in self.headers.items()}
        api: RunpodV2StandIn = self.server.api  # type: ignore[attr-defined]
        status, payload = api.handle(self.command, self.path, headers, raw)
        data = b"" if payload is None else json.dumps(payload).encode()
        self.send_response(status)
        kind = "application/problem+json" if status >= 400 else "application/json"
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    do_GET = do_POST = do_PATCH = do_PUT = do_DELETE = _handle

    def log_message(self, *args: Any) -> None:
        pass


class RunpodV2StandIn:
    """RunPod's REST API v2 on a loopback port: see the module docstring."""

    def __init__(self, api_key: str = "test-runpod-key", gpus: list[dict] | None = None):
        self.api_key = api_key
        self.gpus = DEFAULT_GPUS if gpus is None else gpus
        errors = schema_errors("#/components/schemas/ListGpuTypesResponse", {"gpus": self.gpus})
        assert not errors, f"the stand-in's catalog is not valid: {errors}"
        self.requests: list[Recorded] = []
        self.endpoints: dict[str, dict] = {}
        self.templates: dict[str, dict] = {}
        self.failures: dict[tuple[str, str], tuple[int, Any]] = {}
        self._ids = (f"ep{n}x" for n in itertools.count(1))
        self._template_ids = (f"tpl{n}x" for n in itertools.count(1))
        self.lock = threading.Lock()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self.server.daemon_threads = True
        self.server.api = self  # type: ignore[attr-defined]
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True)
        self.thread.start()

    # -- public API ---------------------------------------------------------------------------
    @property
    def url(self) -> str:
        """The v2 root, for PORTAPACK_RUNPOD_API_URL."""
        return f"http://127.0.0.1:{self.server.server_address[1]}/v2"

    @property
    def refused(self) -> list[Recorded]:
        """Requests the API refused (any 4xx/5xx it chose itself; injected failures excluded)."""
        return [r for r in self.requests if r.status >= 400 and r.operation != "injected"]

    def calls(self) -> list[tuple[str, str]]:
        return [(r.method, r.path) for r in self.requests]

    def writes(self) -> list[tuple[str, str, Any]]:
        """The requests that change something (POST/PATCH/PUT/DELETE), with their bodies."""
        return [(r.method, r.path, r.body) for r in self.requests if r.method != "GET"]

    def leaks(self, *values: str) -> list[str]:
        """Requests carrying any of ``values`` outside the Authorization header."""
        found = []
        for r in self.requests:
            text = r.raw.decode("utf-8", "replace") + r.path + json.dumps(
                {k: v for k, v in r.headers.items() if k != "authorization"})
            found += [f"{r.method} {r.path}: {v}" for v in values if v in text]
        return found

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def __enter__(self) -> RunpodV2StandIn:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    # -- request handling ---------------------------------------------------------------------
    def handle(self, method: str, target: str, headers: dict[str, str], raw: bytes) -> tuple[int, Any]:
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            body = raw.decode("utf-8", "replace")
        rec = Recorded(method, target, headers, body, raw)
        with self.lock:
            self.requests.append(rec)
            rec.status, rec.answer = self._answer(rec)
        return rec.status, rec.answer

    def _answer(self, rec: Recorded) -> tuple[int, Any]:
        if rec.headers.get("authorization") != f"Bearer {self.api_key}":
            return 401, problem(401, "Unauthorized", "Missing or invalid API key.")
        path = urlsplit(rec.path).path
        for (method, pattern), answer in self.failures.items():
            if method == rec.method and re.fullmatch(pattern, path.removeprefix("/v2")):
                rec.operation = "injected"
                return answer
        matched = [(m, p, t, op) for m, p, t, op in operations() if p.match(path)]
        if not matched:
            return 404, problem(404, "Not Found", f"No route {path}.")
        found = next(((p, t, op) for m, p, t, op in matched if m == rec.method), None)
        if found is None:
            return 405, problem(405, "Method Not Allowed", f"{rec.method} is not allowed on {path}.")
        pattern, template, op = found
        rec.operation = op["operationId"]
        args = pattern.match(path).groups()
        if "requestBody" in op:
            if rec.headers.get("content-type", "").split(";")[0] != "application/json":
                return 415, problem(415, "Unsupported Media Type", "Send application/json.")
            ref = op["requestBody"]["content"]["application/json"]["schema"]["$ref"]
            errors = schema_errors(ref.removeprefix(_URI), rec.body)
            if errors:
                return 422, problem(422, "Unprocessable Entity", "Request validation failed.",
                                    errors)
        elif rec.body is not None:
            return 400, problem(400, "Bad Request", f"{rec.operation} takes no body.")
        handler = getattr(self, f"_op_{rec.operation}", None)
        if handler is None:
            return 501, problem(501, "Not Implemented", f"the stand-in has no {rec.operation}")
        status, answer = handler(rec.body, *args)
        return status, answer

    # -- operations ---------------------------------------------------------------------------
    def _op_listGpuTypes(self, body: Any) -> tuple[int, Any]:
        return 200, {"gpus": self.gpus}

    def _op_listEndpoints(self, body: Any) -> tuple[int, Any]:
        return 200, {"endpoints": list(self.endpoints.values())}

    def _op_getEndpoint(self, body: Any, eid: str) -> tuple[int, Any]:
        if eid not in self.endpoints:
            return 404, problem(404, "Not Found", f"Endpoint {eid} not found.")
        return 200, self.endpoints[eid]

    def _op_createEndpoint(self, body: dict) -> tuple[int, Any]:
        body = self._with_template(body)
        if isinstance(body, tuple):
            return body
        if ("gpu" in body) == ("cpu" in body):
            return 400, problem(400, "Bad Request", "Specify exactly one of gpu or cpu.")
        bad = self._compute_errors(body)
        if bad:
            return 400, problem(400, "Bad Request", "Invalid compute selection.", bad)
        eid = next(self._ids)
        workers = {"min": 0, "max": 3, "idleTimeout": 10} | body.get("workers", {})
        endpoint = {
            "id": eid, "name": body["name"], "type": body["type"],
            "requestUrls": {k: f"https://api.runpod.ai/v2/{eid}/{v}" for k, v in (
                ("run", "run"), ("runSync", "runsync"), ("status", "status/{job_id}"),
                ("stream", "stream/{job_id}"), ("cancel", "cancel/{job_id}"),
                ("retry", "retry/{job_id}"), ("purgeQueue", "purge-queue"),
                ("health", "health"))} if body["type"] != "LOAD_BALANCER" else {
                # LoadBalancingRequestUrls: the worker defines every other path
                "base": f"https://{eid}.api.runpod.ai", "health": f"https://{eid}.api.runpod.ai/ping"},
            "image": body["image"], "args": body.get("args", ""), "disk": body.get("disk", 20),
            "ports": body.get("ports", []), "env": body.get("env", {}),
            "registry": body.get("registry"),
            "workers": workers, "scaling": body["scaling"],
            "dataCenterIds": body.get("dataCenterIds", []),
            "networkVolumes": body.get("networkVolumes", []),
            "timeout": body.get("timeout", 300000), "flashboot": body.get("flashboot", "OFF"),
            "createdAt": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        }
        endpoint |= self._compute(body)
        self.endpoints[eid] = endpoint
        return 201, endpoint

    def _op_updateEndpoint(self, body: dict, eid: str) -> tuple[int, Any]:
        if eid not in self.endpoints:
            return 404, problem(404, "Not Found", f"Endpoint {eid} not found.")
        body = self._with_template(body)
        if isinstance(body, tuple):
            return body
        current = self.endpoints[eid]
        family = "cpu" if "cpu" in current else "gpu"
        if ("gpu" in body and "cpu" in body) or (
                ("gpu" if family == "cpu" else "cpu") in body):
            return 400, problem(400, "Bad Request",
                                f"Endpoint {eid} is a {family.upper()} endpoint; the compute "
                                "family is immutable.")
        gpu = current.get("gpu") or {}
        if "gpu" in body and "pools" in body["gpu"]:
            gpu = {k: v for k, v in gpu.items() if k != "excludedTypes"}  # pools replace both
        merged = dict(body, gpu=gpu | body["gpu"]) if "gpu" in body else body
        bad = self._compute_errors(merged)
        if bad:
            return 400, problem(400, "Bad Request", "Invalid compute selection.", bad)
        for key, value in body.items():
            if key == "workers":
                current["workers"] = current["workers"] | value
            elif key in ("gpu", "cpu"):
                current |= self._compute(merged)
            elif key != "templateId":
                current[key] = value
        return 200, current

    def _op_deleteEndpoint(self, body: Any, eid: str) -> tuple[int, Any]:
        if self.endpoints.pop(eid, None) is None:
            return 404, problem(404, "Not Found", f"Endpoint {eid} not found.")
        return 204, None

    def _op_listTemplates(self, body: Any) -> tuple[int, Any]:
        return 200, {"templates": list(self.templates.values())}

    def _op_createTemplate(self, body: dict) -> tuple[int, Any]:
        tid = next(self._template_ids)
        self.templates[tid] = {
            "id": tid, "name": body["name"], "image": body["image"], "args": body.get("args", ""),
            "disk": body.get("disk", 20), "mounts": body.get("mounts", {}),
            "ports": body.get("ports", []), "env": body.get("env", {}),
            "registry": body.get("registry"), "serverless": body.get("serverless", False),
            "public": body.get("public", False), "category": body.get("category", "NVIDIA"),
            "startSsh": body.get("startSsh", True), "startJupyter": body.get("startJupyter", True),
            "allowedCudaVersions": body.get("allowedCudaVersions", [])}
        return 201, self.templates[tid]

    def _op_updateTemplate(self, body: dict, tid: str) -> tuple[int, Any]:
        if tid not in self.templates:
            return 404, problem(404, "Not Found", f"Template {tid} not found.")
        self.templates[tid].update(body)
        return 200, self.templates[tid]

    # -- what the document says in prose ------------------------------------------------------
    def _with_template(self, body: dict) -> dict | tuple[int, Any]:
        """A templateId is resolved once: its container settings fill the body's gaps."""
        tid = body.get("templateId")
        if tid is None:
            return body
        template = self.templates.get(tid)
        if template is None:
            return 404, problem(404, "Not Found", f"Template {tid} not found.")
        if not template["serverless"]:
            return 422, problem(422, "Unprocessable Entity", f"Template {tid} is not serverless.")
        settings = {k: template[k] for k in ("image", "args", "disk", "ports", "registry")}
        return settings | body | {"env": template["env"] | body.get("env", {})}

    def _compute_errors(self, body: dict) -> list[str]:
        errors = []
        if "gpu" in body:
            pools = {g["pool"]: [] for g in self.gpus if g.get("pool")}
            for g in self.gpus:
                if g.get("pool"):
                    pools[g["pool"]].append(g["id"])
            chosen = body["gpu"].get("pools", [])
            errors += [f"gpu.pools: unknown pool {p}" for p in chosen if p not in pools]
            cards = {c for p in chosen for c in pools.get(p, [])}
            excluded = [c.strip() for c in body["gpu"].get("excludedTypes", [])]
            errors += [f"gpu.excludedTypes: {c} is not a GPU type in {chosen}"
                       for c in excluded if c not in cards]
            if cards and not cards - set(excluded):
                errors.append("gpu.excludedTypes: no GPU type is left in the selection")
        for n, cpu in enumerate(body.get("cpu", [])):
            if cpu["id"] not in CPU_FLAVORS:
                errors.append(f"cpu[{n}].id: unknown CPU flavor {cpu['id']}")
            count = cpu["vcpuCount"]
            if count & (count - 1) or count > MAX_VCPUS:
                errors.append(f"cpu[{n}].vcpuCount: {count} is not a power of two from 2 to "
                              f"{MAX_VCPUS}")
        return errors

    def _compute(self, body: dict) -> dict:
        if "cpu" in body:
            return {"cpu": [dict(c, memory=c["vcpuCount"] * 2) for c in body["cpu"]]}
        gpu = {"count": 1, "allowedCudaVersions": [], "minCudaVersion": None} | body["gpu"]
        return {"gpu": gpu}
