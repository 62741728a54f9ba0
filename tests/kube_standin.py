"""A stand-in Kubernetes API server on loopback, for InferenceServices only.

It answers as the API server does for the calls portapack's KServe deployer makes
(CustomObjectsApi: list, get, server-side apply), and refuses what the real one refuses:
no bearer token (401), a content type other than apply-patch (415), an apply without
``fieldManager`` (422), a body that breaks KServe's CRD schema (422, strict field
validation: unknown fields included), a namespace or name that differs from the path (400),
another field manager's fields without ``force`` (409). Applies keep ``metadata.generation``
(bumped only when the spec changes) and ``resourceVersion``; the status is played from a
script per object: ``slow`` (not reconciled, then Ready Unknown, then Ready True) or
``failed`` (Knative's RevisionFailed), default Ready at once.

Use::

    with KubeStandIn(token="t") as kube:
        kube.kubeconfig(path)              # a kubeconfig whose server is this stand-in
        ...
        kube.requests   # every request: .method, .path, .query, .headers (lower-case), .body
        kube.refused    # every answer >= 400 it gave, with why
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import yaml
from kserve_crd import crd_errors

PREFIX = "/apis/serving.kserve.io/v1beta1/namespaces/"


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: Any = None


@dataclass
class Stored:
    obj: dict[str, Any]
    manager: str
    script: list[dict[str, Any]] = field(default_factory=list)  # statuses still to play


class KubeStandIn:
    def __init__(self, token: str = "kube-token", crd_installed: bool = True):
        self.token, self.crd_installed = token, crd_installed
        self.requests: list[Request] = []
        self.refused: list[tuple[int, str]] = []
        self.objects: dict[tuple[str, str], Stored] = {}
        self.behaviour: dict[str, str] = {}  # name -> "slow" | "failed"
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def kubeconfig(self, path: Path, namespace: str | None = "team-a") -> Path:
        context = {"cluster": "standin", "user": "dev"} | ({"namespace": namespace} if namespace else {})
        path.write_text(yaml.safe_dump({
            "apiVersion": "v1", "kind": "Config", "current-context": "standin-ctx",
            "clusters": [{"name": "standin", "cluster": {"server": self.url}}],
            "users": [{"name": "dev", "user": {"token": self.token}}],
            "contexts": [{"name": "standin-ctx", "context": context}]}))
        return path

    def __enter__(self) -> KubeStandIn:
        self._thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self._server.shutdown()
        self._server.server_close()

    # -- status scripts ---------------------------------------------------------------------
    def _script(self, name: str, ns: str, generation: int) -> list[dict[str, Any]]:
        url = f"http://{name}.{ns}.example.com"
        ready = {"observedGeneration": generation, "url": url,
                 "conditions": [{"type": "Ready", "status": "True"},
                                {"type": "PredictorReady", "status": "True"}]}
        kind = self.behaviour.get(name)
        if kind == "slow":
            return [{"observedGeneration": generation - 1},
                    {"observedGeneration": generation,
                     "conditions": [{"type": "Ready", "status": "Unknown",
                                     "reason": "RevisionMissing",
                                     "message": "Configuration is waiting for a Revision to become ready."}]},
                    {"observedGeneration": generation,
                     "conditions": [{"type": "Ready", "status": "Unknown", "reason": "RevisionMissing"}]},
                    ready]
        if kind == "failed":
            failed = {"observedGeneration": generation, "conditions": [{
                "type": "Ready", "status": "False", "reason": "RevisionFailed",
                "message": f'Revision "{name}-predictor-00001" failed with message: Container '
                           'failed with: ModuleNotFoundError: No module named \'torch\'.'}]}
            return [failed]
        return [ready]

    # -- the HTTP side ----------------------------------------------------------------------
    def _handler(self) -> type[BaseHTTPRequestHandler]:
        standin = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def _send(self, code: int, obj: Any, why: str = "") -> None:
                if code >= 400:
                    standin.refused.append((code, why or json.dumps(obj)))
                data = json.dumps(obj).encode()
                self.send_response(code)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def _status(self, code: int, reason: str, message: str) -> None:
                self._send(code, {"kind": "Status", "apiVersion": "v1", "metadata": {},
                                  "status": "Failure", "message": message, "reason": reason,
                                  "code": code}, message)

            def _record(self) -> Request:
                split = urlsplit(self.path)
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                body = yaml.safe_load(raw) if raw else None
                req = Request(self.command, split.path,
                              {k: v[-1] for k, v in parse_qs(split.query).items()},
                              {k.lower(): v for k, v in self.headers.items()}, body)
                standin.requests.append(req)
                return req

            def _route(self, req: Request) -> tuple[str, str | None] | None:
                if not req.path.startswith(PREFIX):
                    return None
                parts = req.path[len(PREFIX):].split("/")
                if len(parts) == 2 and parts[1] == "inferenceservices":
                    return parts[0], None
                if len(parts) == 3 and parts[1] == "inferenceservices":
                    return parts[0], parts[2]
                return None

            def _authorized(self, req: Request) -> bool:
                if req.headers.get("authorization") != f"Bearer {standin.token}":
                    self._status(401, "Unauthorized", "Unauthorized")
                    return False
                return True

            def do_GET(self) -> None:
                req = self._record()
                if not self._authorized(req):
                    return
                route = self._route(req)
                if route is None or not standin.crd_installed:
                    return self._status(404, "NotFound", "the server could not find the requested resource")
                ns, name = route
                with standin._lock:
                    if name is None:
                        items = [s.obj for (n, _), s in standin.objects.items() if n == ns]
                        return self._send(200, {"apiVersion": "serving.kserve.io/v1beta1",
                                                "kind": "InferenceServiceList",
                                                "metadata": {"resourceVersion": "1"}, "items": items})
                    stored = standin.objects.get((ns, name))
                    if stored is None:
                        return self._status(404, "NotFound",
                                            f'inferenceservices.serving.kserve.io "{name}" not found')
                    if stored.script:
                        stored.obj["status"] = stored.script.pop(0)
                    return self._send(200, stored.obj)

            def do_PATCH(self) -> None:
                req = self._record()
                if not self._authorized(req):
                    return
                route = self._route(req)
                if route is None or route[1] is None or not standin.crd_installed:
                    return self._status(404, "NotFound", "the server could not find the requested resource")
                ns, name = route
                if req.headers.get("content-type") != "application/apply-patch+yaml":
                    kind = req.headers.get("content-type")
                    return self._status(415, "UnsupportedMediaType",
                                        f"the body of the request was in an unknown format: {kind}")
                manager = req.query.get("fieldManager")
                if not manager:
                    return self._status(422, "Invalid", 'PatchOptions.meta.k8s.io "" is invalid: '
                                        "fieldManager: Required value: is required for apply patch")
                body = req.body or {}
                errors = crd_errors(body)
                if errors:
                    return self._status(422, "Invalid", "InferenceService.serving.kserve.io "
                                        f'"{name}" is invalid: ' + "; ".join(errors))
                meta = body.get("metadata") or {}
                if meta.get("namespace", ns) != ns:
                    return self._status(400, "BadRequest", "the namespace of the provided object "
                                        "does not match the namespace sent on the request")
                if meta.get("name") != name:
                    return self._status(400, "BadRequest", "the name of the object "
                                        f"({meta.get('name')}) does not match the name on the URL ({name})")
                with standin._lock:
                    stored = standin.objects.get((ns, name))
                    if stored and stored.manager != manager and req.query.get("force") != "true":
                        return self._status(409, "Conflict", f'Apply failed with 1 conflict: conflict '
                                            f'with "{stored.manager}": .spec.predictor')
                    generation = 1 if stored is None else stored.obj["metadata"]["generation"]
                    if stored is not None and stored.obj["spec"] != body["spec"]:
                        generation += 1
                    version = 1 + (0 if stored is None else int(stored.obj["metadata"]["resourceVersion"]))
                    obj = json.loads(json.dumps(body))
                    obj["metadata"] = meta | {"namespace": ns, "generation": generation,
                                              "uid": f"uid-{ns}-{name}", "resourceVersion": str(version)}
                    previous = (stored.obj.get("status") if stored else None) or {}
                    obj["status"] = previous
                    standin.objects[(ns, name)] = Stored(
                        obj, manager, standin._script(name, ns, generation))
                    self._send(201 if stored is None else 200, obj)

        return Handler
