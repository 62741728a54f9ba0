"""A local stand-in for Baseten's management API (api.baseten.co), for deploy tests.

It answers only the operations in baseten-management-openapi.json (Baseten's own OpenAPI
document, read through tests/vendor_docs.py), validates every request body against that
document (Draft 2020-12, refs resolved in it) and answers 422 for a body Baseten would refuse
(unknown fields included: the request schemas say ``additionalProperties: false``), 401
without a key it accepts, 404 for an unknown route or model. Its own answers are validated
against the response schemas too, so a test cannot pass on a reply the real API would never
give. Every request is recorded.
"""

from __future__ import annotations

import functools
import json
import re
import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import jsonschema
import referencing
import referencing.jsonschema
from vendor_docs import vendor_json

_URI = "urn:baseten-management-openapi"


def document() -> dict[str, Any]:
    """Baseten's OpenAPI document (a test without it is skipped: see tests/vendor_docs.py)."""
    return vendor_json("baseten-management-openapi.json")


@functools.cache
def _registry() -> referencing.Registry:
    return referencing.Registry().with_resource(
        _URI, referencing.jsonschema.DRAFT202012.create_resource(document()))


# Ranges the schema leaves out but Baseten documents (docs.baseten.co "Autoscaling", parameter
# table: min replicas >= 0, max >= 1, window 10-3600 s, scale-down delay 0-3600 s, concurrency
# target >= 1, utilization 1-100 %; checked 2026-12-01).
DOCUMENTED_RANGES = {"min_replica": (0, 10**6), "max_replica": (1, 10**6),
                     "autoscaling_window": (10, 3600), "scale_down_delay": (0, 3600),
                     "concurrency_target": (1, 10**6), "target_utilization_percentage": (1, 100)}


def validator(pointer: str) -> jsonschema.Draft202012Validator:
    """A validator for the schema at ``pointer`` (e.g. #/components/schemas/X) in the document."""
    return jsonschema.Draft202012Validator({"$ref": f"{_URI}#{pointer}"}, registry=_registry())


def _operation(method: str, path: str) -> tuple[str, dict] | None:
    """The document's (template, operation) matching a concrete request path."""
    for template, item in document()["paths"].items():
        pattern = re.sub(r"\{[^}/]+\}", "[^/]+", template)  # templates hold only [a-z0-9_/{}]
        if re.fullmatch(pattern, path) and method.lower() in item:
            return template, item[method.lower()]
    return None


def _schema_pointer(schema: dict) -> str:
    return schema["$ref"].removeprefix("#") if "$ref" in schema else ""


@dataclass
class Call:
    method: str
    path: str
    authorization: str | None
    body: Any
    status: int = 0


class BasetenApi:
    """Models pushed (by a fake truss.push) are registered with :meth:`add_model`."""

    def __init__(self, key: str):
        _registry()  # Baseten's document, read here (skips the test without it), not in a handler
        self.key = key
        self.calls: list[Call] = []
        self.refused: list[Call] = []  # answered 4xx for a schema reason (422)
        self.models: dict[str, dict] = {}
        self.autoscaling: dict[tuple[str, str], dict] = {}  # (model, deployment or env) -> settings
        self.lock = threading.Lock()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self.server.daemon_threads = True
        self.server.api = self  # type: ignore[attr-defined]
        threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def add_model(self, model_id: str, name: str, deployment_id: str) -> None:
        self.models[model_id] = {
            "id": model_id, "created_at": "2026-12-01T12:00:00Z", "name": name,
            "deployments_count": 1, "production_deployment_id": None,
            "development_deployment_id": None, "instance_type_name": "A10Gx4x16",
            "team_name": "portapack-tests", "_deployments": {deployment_id}}

    def handle(self, call: Call) -> tuple[int, Any]:
        with self.lock:
            self.calls.append(call)
            status, payload = self._answer(call)
            call.status = status
            if status == 422:
                self.refused.append(call)
            return status, payload

    def _answer(self, call: Call) -> tuple[int, Any]:
        # Baseten's document: "Send `Authorization: Bearer <api_key>`. The legacy
        # `Authorization: Api-Key <api_key>` scheme is also accepted."
        if call.authorization not in (f"Bearer {self.key}", f"Api-Key {self.key}"):
            return 401, {"error": "Unauthorized: invalid or missing API key"}
        found = _operation(call.method, call.path)
        if found is None:
            return 404, {"error": f"no route {call.method} {call.path}"}
        template, op = found
        body_schema = op.get("requestBody", {}).get("content", {}).get("application/json", {})
        if body_schema:
            errors = sorted(validator(_schema_pointer(body_schema["schema"])).iter_errors(call.body),
                            key=lambda e: list(e.path))
            if errors:
                return 422, {"detail": [{"loc": ["body", *e.path], "msg": e.message} for e in errors]}
        if template != "/v1/models":
            settings = call.body if template.endswith("/autoscaling_settings") else \
                (call.body.get("autoscaling_settings") or {})
            problems = [f"{k} must be within {lo}-{hi}" for k, (lo, hi) in DOCUMENTED_RANGES.items()
                        if settings.get(k) is not None and not lo <= settings[k] <= hi]
            if problems:
                return 422, {"detail": [{"loc": ["body"], "msg": p} for p in problems]}
        status, payload = self._route(template, call)
        if status == 200:  # our answer must be one the real API could give
            response = op["responses"]["200"]["content"]["application/json"]["schema"]
            validator(_schema_pointer(response)).validate(payload)
        return status, payload

    def _route(self, template: str, call: Call) -> tuple[int, Any]:
        parts = call.path.strip("/").split("/")
        if template == "/v1/models":
            return 200, {"models": [{k: v for k, v in m.items() if not k.startswith("_")}
                                    for m in self.models.values()]}
        model = self.models.get(parts[2])
        if model is None:
            return 404, {"error": f"model {parts[2]} not found"}
        if template.endswith("/autoscaling_settings"):
            if parts[4] not in model["_deployments"]:
                return 404, {"error": f"deployment {parts[4]} not found"}
            settings, key = call.body, (parts[2], parts[4])
        else:  # PATCH an environment
            settings, key = call.body.get("autoscaling_settings") or {}, (parts[2], "env:" + parts[4])
        before = self.autoscaling.get(key, {})
        after = before | {k: v for k, v in settings.items() if v is not None}
        self.autoscaling[key] = after
        status = "UNCHANGED" if after == before else "ACCEPTED"
        return 200, {"status": status, "message": f"autoscaling settings {status.lower()}"}


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def _handle(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            body = raw.decode("utf-8", "replace")
        api: BasetenApi = self.server.api  # type: ignore[attr-defined]
        status, payload = api.handle(Call(self.command, self.path, self.headers.get("Authorization"),
                                          body))
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    do_GET = do_POST = do_PATCH = do_PUT = do_DELETE = _handle

    def log_message(self, *args: Any) -> None:
        pass
