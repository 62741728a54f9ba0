"""The Kubernetes API, as the KServe deployer uses it: the kubeconfig's current context, one
``CustomObjectsApi`` for InferenceServices, errors turned into sentences.

urllib3 retries by default (three more attempts, each with the full timeout), so retries
are off: an API server that accepts and never answers fails preflight in CONNECT + READ
seconds, within 15 s, instead of a minute.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from portapack.errors import PortapackError

GROUP, VERSION, PLURAL = "serving.kserve.io", "v1beta1", "inferenceservices"
PREFLIGHT_TIMEOUT = (5, 8)  # (connect, read) seconds
APPLY_TIMEOUT = (5, 30)
FAILED_TRANSITIONS = ("BlockedByFailedLoad", "InvalidSpec")  # modelStatus.transitionStatus
FAILED_REASONS = ("RevisionFailed",)  # Knative: the revision's pods will not become ready


class ClusterError(PortapackError):
    """No usable kubeconfig, or the API server refused or did not answer."""


def kubeconfig_path() -> str:
    return os.environ.get("KUBECONFIG") or str(Path.home() / ".kube" / "config")


class Cluster:
    """One API server, from the kubeconfig's current context."""

    def __init__(self, api_client: Any, host: str, context: str):
        from kubernetes import client

        self.api = client.CustomObjectsApi(api_client)
        self.host, self.context = host, context

    @classmethod
    def load(cls) -> Cluster:
        from kubernetes import client, config
        from kubernetes.config.config_exception import ConfigException

        where = kubeconfig_path()
        if not any(Path(p).is_file() for p in where.split(os.pathsep)):
            raise ClusterError(f"no kubeconfig at {where}: set KUBECONFIG or create one (your "
                               "cluster provider's get-credentials command, kind, minikube)")
        cfg = client.Configuration()
        try:
            # The path is passed: the client reads $KUBECONFIG once, when it is imported.
            config.load_kube_config(config_file=where, client_configuration=cfg)
            _, active = config.list_kube_config_contexts(config_file=where)
        except (ConfigException, OSError, ValueError, TypeError) as exc:
            raise ClusterError(f"the kubeconfig at {where} cannot be used: {exc}") from None
        cfg.retries = 0
        return cls(client.ApiClient(cfg), cfg.host, (active or {}).get("name", "?"))

    @staticmethod
    def context_namespace() -> str | None:
        """The current context's namespace (None: the context names none)."""
        from kubernetes import config
        from kubernetes.config.config_exception import ConfigException

        try:
            _, active = config.list_kube_config_contexts(config_file=kubeconfig_path())
        except (ConfigException, OSError, ValueError, TypeError) as exc:
            raise ClusterError(str(exc)) from None
        return ((active or {}).get("context") or {}).get("namespace")

    # -- calls ------------------------------------------------------------------------------
    def check_access(self, namespace: str) -> None:
        """List InferenceServices (limit 1): the server answers, the credentials work, the
        CRD is installed and this user may read the namespace."""
        self._call("list inferenceservices", self.api.list_namespaced_custom_object, GROUP,
                   VERSION, namespace, PLURAL, limit=1, _request_timeout=PREFLIGHT_TIMEOUT)

    def apply(self, manifest: dict[str, Any]) -> dict[str, Any]:
        """Server-side apply: creates the object or updates the fields portapack owns."""
        meta = manifest["metadata"]
        # Raw content: the client (37.0.x) deserializes a 200 but returns None for the 201
        # the API server answers when the apply created the object.
        answer = self._call("apply", self.api.patch_namespaced_custom_object, GROUP, VERSION,
                            meta["namespace"], PLURAL, meta["name"], manifest,
                            field_manager="portapack", force=True, field_validation="Strict",
                            _content_type="application/apply-patch+yaml",
                            _request_timeout=APPLY_TIMEOUT, _preload_content=False)
        return json.loads(answer.data)

    def get(self, namespace: str, name: str) -> dict[str, Any]:
        return self._call("get", self.api.get_namespaced_custom_object, GROUP, VERSION,
                          namespace, PLURAL, name, _request_timeout=PREFLIGHT_TIMEOUT)

    def _call(self, what: str, method: Any, *args: Any, **kwargs: Any) -> Any:
        from kubernetes.client.exceptions import ApiException
        from urllib3.exceptions import HTTPError

        try:
            return method(*args, **kwargs)
        except ApiException as exc:
            raise ClusterError(self.explain(what, exc)) from None
        except (HTTPError, OSError) as exc:
            raise ClusterError(f"the Kubernetes API server at {self.host} (context {self.context}) "
                               f"cannot be reached: {type(exc).__name__}: {exc}"[:600]) from None

    def explain(self, what: str, exc: Any) -> str:
        try:
            message = json.loads(exc.body or "{}").get("message") or exc.reason
        except ValueError:
            message = exc.reason
        at = f"the API server at {self.host} (context {self.context})"
        if exc.status == 401:
            return f"{at} refused the kubeconfig's credentials (401 {message})"
        if exc.status == 403:
            return f"{at} does not allow this user to {what}: {message}"
        if exc.status == 404 and what == "list inferenceservices":
            return (f"KServe is not installed on {at}: no {PLURAL}.{GROUP} resource ({message}); "
                    "install KServe 0.16 or newer")
        return f"{what} {PLURAL}.{GROUP}: {at} answered {exc.status}: {message}"


def condition(isvc: dict[str, Any], kind: str) -> dict[str, Any]:
    for cond in (isvc.get("status") or {}).get("conditions") or []:
        if cond.get("type") == kind:
            return cond
    return {}


def ready_state(isvc: dict[str, Any]) -> tuple[str, str]:
    """("ready" | "failed" | "pending", why) for an InferenceService, as KServe's own client
    decides Ready: the Ready condition True for the current generation."""
    status, meta = isvc.get("status") or {}, isvc.get("metadata") or {}
    generation = meta.get("generation")
    if generation is not None and (status.get("observedGeneration") or 0) < generation:
        return "pending", f"the KServe controller has not reconciled generation {generation} yet"
    model = status.get("modelStatus") or {}
    failure = model.get("lastFailureInfo") or {}
    if model.get("transitionStatus") in FAILED_TRANSITIONS or \
            (model.get("states") or {}).get("targetModelState") == "FailedToLoad":
        detail = ": ".join(str(failure[k]) for k in ("reason", "message") if failure.get(k))
        return "failed", f"the model failed to load ({detail or model.get('transitionStatus')})"
    ready = condition(isvc, "Ready")
    why = ": ".join(str(ready[k]) for k in ("reason", "message") if ready.get(k))
    if ready.get("status") == "True":
        return "ready", "Ready"
    if ready.get("status") == "False" and ready.get("reason") in FAILED_REASONS:
        return "failed", f"Ready is False ({why})"
    return "pending", f"Ready is {ready.get('status', 'not reported')}" + (f" ({why})" if why else "")
