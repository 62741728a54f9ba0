"""The InferenceService (``serving.kserve.io/v1beta1``) for a project: one pure function.

Field names and rules are KServe's CRD and webhook (kserve/kserve at aaac4e29, 2026-08-21):
``pkg/apis/serving/v1beta1/component.go`` (minReplicas, maxReplicas, containerConcurrency,
scaleTarget, scaleMetric, timeout), ``predictor_custom.go`` (a custom container named
``kserve-container``) and ``pkg/constants/constants.go`` (annotations, modes).
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from portapack.spec.loader import Project

API_VERSION = "serving.kserve.io/v1beta1"
CONTAINER = "kserve-container"  # the name KServe's storage initializer and defaulting look for
HTTP_PORT = 8080  # KServe's and Knative's default; Knative allows one port only
MODE_ANNOTATION = "serving.kserve.io/deploymentMode"
AUTOSCALER_ANNOTATION = "serving.kserve.io/autoscalerClass"
# Knative keeps the last pod this long before scaling to zero (Knative autoscaling docs).
RETENTION_ANNOTATION = "autoscaling.knative.dev/scale-to-zero-pod-retention-period"
PLACEHOLDER_IMAGE = "REGISTRY/{name}:TAG"
REMOTE_SCHEMES = ("hf", "s3", "gs", "https")  # fetched by KServe's storage initializer
PROBE_PERIOD_S = 10


def storage_uri(source: str) -> str:
    """A weight source as KServe's storage initializer takes it: ``hf://org/repo@rev`` is
    ``hf://org/repo:rev`` there (kserve_storage.py ``_download_hf``); others are unchanged."""
    if source.startswith("hf://") and "@" in source:
        repo, _, rev = source.partition("@")
        return f"{repo}:{rev}"
    return source


def cpu_quantity(cpu: float) -> str:
    """resources.cpu as a Kubernetes quantity: whole cores as "2", else millicores."""
    return f"{int(cpu)}" if float(cpu).is_integer() else f"{math.ceil(cpu * 1000)}m"


def predictor_container(project: Project, image: str) -> dict[str, Any]:
    """``containers[0]`` of the predictor, without the parts server mode replaces."""
    spec, opts = project.spec, project.spec.targets.kserve
    env: list[dict[str, Any]] = [{"name": k, "value": v} for k, v in spec.env.items()]
    secret = opts.secret_name or spec.name
    env += [{"name": s, "valueFrom": {"secretKeyRef": {"name": secret, "key": s}}}
            for s in spec.secrets]
    resources: dict[str, dict[str, Any]] = {
        "requests": {"cpu": cpu_quantity(spec.resources.cpu), "memory": spec.resources.memory},
        "limits": {"cpu": cpu_quantity(spec.resources.cpu), "memory": spec.resources.memory},
    }
    if spec.resources.gpu:
        resources["limits"]["nvidia.com/gpu"] = spec.resources.gpu.count
    container: dict[str, Any] = {"name": CONTAINER, "image": image}
    if env:
        container["env"] = env
    container["ports"] = [{"containerPort": HTTP_PORT, "protocol": "TCP"}]
    container["resources"] = resources
    return container


def inference_service(project: Project, image: str | None = None, namespace: str | None = None,
                      container: dict[str, Any] | None = None) -> dict[str, Any]:
    """The manifest. ``container`` replaces the Python predictor's (server mode)."""
    spec, opts = project.spec, project.spec.targets.kserve
    scaling = spec.scaling
    image = image or PLACEHOLDER_IMAGE.format(name=spec.name)
    annotations = {MODE_ANNOTATION: opts.mode}
    if opts.mode == "Standard":
        annotations[AUTOSCALER_ANNOTATION] = "hpa"
    metadata: dict[str, Any] = {"name": spec.name}
    if namespace:
        metadata["namespace"] = namespace
    metadata |= {"labels": {"app.kubernetes.io/managed-by": "portapack"}, "annotations": annotations}

    predictor: dict[str, Any] = {}
    if opts.mode == "Knative":
        predictor["minReplicas"] = scaling.min_replicas  # 0: scale to zero
        predictor["maxReplicas"] = scaling.max_replicas
        predictor["containerConcurrency"] = scaling.concurrency
        predictor["scaleMetric"] = "concurrency"
        predictor["scaleTarget"] = scaling.concurrency
        if scaling.min_replicas == 0:
            predictor["annotations"] = {RETENTION_ANNOTATION: f"{scaling.idle_timeout}s"}
    else:  # Standard: an HPA, which cannot go below one replica
        predictor["minReplicas"] = max(1, scaling.min_replicas)
        predictor["maxReplicas"] = max(1, scaling.max_replicas)
    predictor["timeout"] = scaling.timeout
    if opts.service_account:
        predictor["serviceAccountName"] = opts.service_account
    gpu = spec.resources.gpu
    if gpu and opts.gpu_label:
        from portapack.targets.kserve.target import KserveTarget

        product = opts.gpu_product or KserveTarget.gpu_names[gpu.type].name
        predictor["nodeSelector"] = {opts.gpu_label: product}
    remote = [w for w in spec.weights if w.scheme in REMOTE_SCHEMES]
    if remote:
        predictor["storageUris"] = [{"uri": storage_uri(w.source), "mountPath": w.path}
                                    for w in remote]
    predictor["containers"] = [container or python_container(project, image)]
    return {"apiVersion": API_VERSION, "kind": "InferenceService", "metadata": metadata,
            "spec": {"predictor": predictor}}


def python_container(project: Project, image: str) -> dict[str, Any]:
    """The Python predictor under KServe's model server; ready once the model is loaded."""
    name = project.spec.name
    container = predictor_container(project, image)
    container["args"] = ["--model_name", name, "--http_port", str(HTTP_PORT), "--enable_grpc", "false"]
    # GET /v1/models/NAME answers 200 only once the model is loaded (503 before); KServe's own
    # default is a TCP probe, which passes while load() still runs.
    container["readinessProbe"] = {"httpGet": {"path": f"/v1/models/{name}", "port": HTTP_PORT},
                                   "periodSeconds": PROBE_PERIOD_S}
    return _ordered(container)


def _ordered(container: dict[str, Any]) -> dict[str, Any]:
    """Keys in the order a person writes a container: name, image, command, args, env, ..."""
    order = ["name", "image", "command", "args", "env", "ports", "resources", "readinessProbe",
             "startupProbe", "volumeMounts"]
    return {k: container[k] for k in order if k in container}
