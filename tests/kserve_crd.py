"""KServe's InferenceService CRD as a strict JSON schema, for the tests.

The CRD is read from ../shared/schemas/kserve-inferenceservice-crd.yaml (KServe's own
``config/crd/full`` at aaac4e29, 2026-08-21), never copied into this repository. Where that
folder is absent the tests that need it skip, saying so; under CI=true they fail instead.

The CRD's structural schema has no ``additionalProperties: false`` (the API server prunes
unknown fields, and kubectl's strict field validation refuses them): every object with
``properties`` is closed here, so a misspelt field fails as it does with ``kubectl apply``.
A few webhook rules the schema cannot say are checked too (pkg/apis/serving/v1beta1:
inference_service_validation.go, component.go; Knative's single container port).
"""

from __future__ import annotations

import copy
import os
import re
from functools import cache
from pathlib import Path
from typing import Any

import pytest

SHARED = Path(__file__).resolve().parent.parent.parent / "shared"
CRD = SHARED / "schemas" / "kserve-inferenceservice-crd.yaml"
ISVC_NAME = re.compile(r"^[a-z]([-a-z0-9]*[a-z0-9])?$")  # IsvcNameFmt


def require_crd() -> None:
    """Skip (fail under CI=true) when the shared schemas folder is not beside the repository."""
    if CRD.is_file():
        return
    message = f"KServe's CRD is not at {CRD} (the shared schemas folder beside the repository)"
    if os.environ.get("CI") == "true":
        pytest.fail(message)
    pytest.skip(message)


@cache
def strict_schema() -> dict[str, Any]:
    import yaml

    require_crd()
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    crd = yaml.load(CRD.read_text(encoding="utf-8"), Loader=loader)
    (version,) = [v for v in crd["spec"]["versions"] if v["name"] == "v1beta1"]
    schema = copy.deepcopy(version["schema"]["openAPIV3Schema"])
    _close(schema)
    return schema


def _close(node: Any) -> None:
    if isinstance(node, dict):
        if ("properties" in node and "additionalProperties" not in node
                and not node.get("x-kubernetes-preserve-unknown-fields")):
            node["additionalProperties"] = False
        for value in node.values():
            _close(value)
    elif isinstance(node, list):
        for item in node:
            _close(item)


def crd_errors(manifest: dict[str, Any]) -> list[str]:
    """Every way ``manifest`` breaks the CRD schema or a webhook rule (empty: valid)."""
    import jsonschema

    validator = jsonschema.Draft7Validator(strict_schema())
    errors = [f"{'/'.join(map(str, e.absolute_path)) or '<root>'}: {e.message}"
              for e in validator.iter_errors(manifest)]
    return sorted(errors) + webhook_errors(manifest)


def webhook_errors(manifest: dict[str, Any]) -> list[str]:
    errors = []
    if manifest.get("apiVersion") != "serving.kserve.io/v1beta1":
        errors.append(f"apiVersion: {manifest.get('apiVersion')!r}")
    if manifest.get("kind") != "InferenceService":
        errors.append(f"kind: {manifest.get('kind')!r}")
    meta = manifest.get("metadata") or {}
    if not ISVC_NAME.fullmatch(str(meta.get("name", ""))) or len(meta.get("name", "")) > 63:
        errors.append(f"metadata.name: {meta.get('name')!r} is not a valid InferenceService name")
    unknown_meta = set(meta) - {"name", "namespace", "labels", "annotations"}
    if unknown_meta:
        errors.append(f"metadata: unexpected {sorted(unknown_meta)}")
    mode = (meta.get("annotations") or {}).get("serving.kserve.io/deploymentMode")
    if mode not in ("Knative", "Standard"):
        errors.append(f"deploymentMode annotation: {mode!r} (write Knative or Standard)")
    predictor = (manifest.get("spec") or {}).get("predictor") or {}
    low, high = predictor.get("minReplicas", 1), predictor.get("maxReplicas", 0)
    if low < 0 or high < 0 or (high and low > high):
        errors.append(f"replicas: min {low}, max {high}")
    if mode == "Standard" and predictor.get("scaleMetric") not in (None, "cpu", "memory"):
        errors.append(f"scaleMetric {predictor['scaleMetric']} needs Knative (KPA)")
    containers = predictor.get("containers") or []
    if mode == "Knative" and any(len(c.get("ports") or []) > 1 for c in containers):
        errors.append("Knative allows a single container port")
    uris = predictor.get("storageUris") or []
    if uris and any(e.get("name") == "STORAGE_URI" for c in containers for e in c.get("env") or []):
        errors.append("both STORAGE_URI and storageUris")
    for uri in uris:
        path = uri.get("mountPath", "/mnt/models")
        if path == "/" or ".." in path.split("/") or not path.startswith("/"):
            errors.append(f"storageUris mountPath {path!r}")
    return errors
