"""Options of the KServe target: ``targets.kserve:`` in portapack.yaml."""

from __future__ import annotations

import re
from typing import Literal

from pydantic import Field, field_validator

from portapack.spec.strict import StrictModel

# KServe 0.16 renamed the deployment modes (kserve/kserve PR #4608): Serverless -> Knative,
# RawDeployment -> Standard. The old names are accepted here and written as the new ones,
# because KServe's webhook only selects HPA/KEDA validation for the literal "Standard".
LEGACY_MODES = {"Serverless": "Knative", "RawDeployment": "Standard"}
K8S_NAME = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$"


class KserveOptions(StrictModel):
    deployment_mode: Literal["Knative", "Standard", "Serverless", "RawDeployment"] = Field(
        "Knative",
        description="Knative (serverless: scale to zero, concurrency-based autoscaling) or "
        "Standard (a plain Deployment with an HPA, at least one replica). The pre-0.16 names "
        "Serverless and RawDeployment are accepted and written as Knative and Standard.",
    )
    namespace: str | None = Field(
        None, pattern=K8S_NAME, max_length=63,
        description="Kubernetes namespace (default: the kubeconfig context's, else 'default'); "
        "portapack deploy --namespace overrides it.",
    )
    base_image: str | None = Field(
        None, description="Base image of the predictor Dockerfile (default python:<version>-slim)."
    )
    registry: str | None = Field(
        None, pattern=r"^[\w.\-]+(:[0-9]+)?(/[\w.\-]+)*$",
        description="Registry (and namespace) the predictor image is pushed to, e.g. "
        "ghcr.io/me; the cluster must be able to pull from it.",
    )
    secret_name: str | None = Field(
        None, pattern=K8S_NAME, max_length=253,
        description="Kubernetes Secret holding the spec's secrets, one key per name "
        "(default: the spec's name).",
    )
    service_account: str | None = Field(
        None, pattern=K8S_NAME, max_length=253,
        description="serviceAccountName of the predictor: its secrets give KServe's storage "
        "initializer the credentials for hf://, s3:// and gs:// weights (HF_TOKEN, S3 keys).",
    )
    gpu_label: str | None = Field(
        "nvidia.com/gpu.product",
        description="Node label that names the GPU model (NVIDIA GPU Feature Discovery's by "
        "default); cluster-specific. Empty: no node selector, any GPU node will do.",
    )
    gpu_product: str | None = Field(
        None, description="The label's value for resources.gpu on your nodes (default: GPU "
        "Feature Discovery's product name for the canonical GPU, e.g. NVIDIA-L4).",
    )

    @property
    def mode(self) -> str:
        """The current name of the deployment mode."""
        return LEGACY_MODES.get(self.deployment_mode, self.deployment_mode)

    @field_validator("base_image")
    @classmethod
    def _image(cls, value: str | None) -> str | None:
        if value is not None and not re.fullmatch(r"[\w.\-/:@]+", value):
            raise ValueError(f"'{value}' is not a Docker image reference")
        return value
