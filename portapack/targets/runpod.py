"""RunPod serverless: a plain Dockerfile + handler.py worker, and the endpoint settings."""

from __future__ import annotations

from typing import Any, ClassVar

from ..loader import Project
from .base import (
    Feature,
    GpuMapping,
    Note,
    Target,
    code_entries,
    example_input,
    hf_requirement,
    local_weights,
    typing_names,
    weight_fetch_commands,
    with_requirements,
)


class RunpodTarget(Target):
    name = "runpod"
    title = "RunPod"
    extra = "runpod"
    templates: ClassVar[dict[str, str]] = {
        "handler.py": "runpod/handler.py.j2",
        "Dockerfile": "runpod/Dockerfile.j2",
        ".dockerignore": "runpod/dockerignore.j2",
        "requirements.txt": "_shared/requirements.txt.j2",
        "endpoint.json": "runpod/endpoint.json.j2",
        "README.md": "runpod/README.md.j2",
    }
    # gpuTypeIds of RunPod's REST API.
    gpu_names: ClassVar[dict[str, GpuMapping]] = {
        "T4": GpuMapping("NVIDIA RTX A4000", exact=False),  # RunPod offers no T4
        "L4": GpuMapping("NVIDIA L4"),
        "A10G": GpuMapping("NVIDIA RTX A5000", exact=False),
        "RTX-4090": GpuMapping("NVIDIA GeForce RTX 4090"),
        "A6000": GpuMapping("NVIDIA RTX A6000"),
        "L40S": GpuMapping("NVIDIA L40S"),
        "A100-40GB": GpuMapping("NVIDIA A100 80GB PCIe", exact=False),
        "A100-80GB": GpuMapping("NVIDIA A100 80GB PCIe"),
        "H100": GpuMapping("NVIDIA H100 80GB HBM3"),
        "H200": GpuMapping("NVIDIA H200"),
        "B200": GpuMapping("NVIDIA B200"),
        "RTX-PRO-6000": GpuMapping("NVIDIA RTX PRO 6000 Blackwell Server Edition"),
    }
    unsupported: ClassVar[dict[Feature, str]] = {
        Feature.MEMORY: "RunPod sizes memory by worker type; resources.memory is not applied",
        Feature.WEIGHTS_S3: "not fetched by the worker; download it in load() with your own credentials",
        Feature.WEIGHTS_GS: "not fetched by the worker; download it in load() with your own credentials",
    }

    def context(self, project: Project) -> dict[str, Any]:
        spec = project.spec
        ctx = self.base_context(project)
        example = example_input(project)
        ctx.update(
            typing=typing_names(project.predictor),
            requirements=with_requirements(project, "runpod>=1.12,<2", "pydantic>=2",
                                           *hf_requirement(project)),
            base_image=self.base_image(project),
            system_packages=spec.system_packages,
            docker_env=self.image_env(project),
            build_commands=spec.build_commands,
            weight_commands=weight_fetch_commands(project),
            local_weights=local_weights(project),
            code_entries=list(code_entries(project)),
            concurrency=spec.scaling.concurrency,
            is_async=spec.scaling.concurrency > 1,
            secrets=spec.secrets,
            example_input=example,
            endpoint=self.endpoint(project),
        )
        return ctx

    def extra_notes(self, project: Project) -> list[Note]:
        spec = project.spec
        notes = []
        if spec.resources.gpu and "cpu" in spec.resources.model_fields_set:
            notes.append(Note(self.name, "resources.cpu", "GPU workers get the CPUs of their GPU "
                              "type; resources.cpu is not applied"))
        if spec.targets.runpod.gpu_type_ids and not spec.resources.gpu:
            notes.append(Note(self.name, "targets.runpod.gpu_type_ids", "ignored: the spec has no "
                              "resources.gpu, so the endpoint is a CPU endpoint"))
        return notes + self.build_time_weights_note(project)

    def base_image(self, project: Project) -> str:
        return project.spec.targets.runpod.base_image or f"python:{project.spec.python}-slim"

    def endpoint(self, project: Project) -> dict[str, Any]:
        """Bodies for RunPod's REST API (POST /templates, POST /endpoints), image left to deploy."""
        spec, opts = project.spec, project.spec.targets.runpod
        env = dict(spec.env)
        env.update({s: f"{{{{ RUNPOD_SECRET_{s} }}}}" for s in spec.secrets})
        gpu = spec.resources.gpu
        endpoint: dict[str, Any] = {"name": spec.name}
        if gpu:
            endpoint |= {"computeType": "GPU",
                         "gpuTypeIds": opts.gpu_type_ids or [self.gpu_name(gpu)],
                         "gpuCount": gpu.count}
        else:
            endpoint |= {"computeType": "CPU", "vcpuCount": max(1, round(spec.resources.cpu))}
        endpoint |= {
            "workersMin": spec.scaling.min_replicas,
            "workersMax": spec.scaling.max_replicas,
            "idleTimeout": spec.scaling.idle_timeout,
            "executionTimeoutMs": spec.scaling.timeout * 1000,
            "flashboot": opts.flashboot,
        }
        return {
            "template": {"name": spec.name, "imageName": None, "isServerless": True,
                         "category": "NVIDIA" if gpu else "CPU",
                         "volumeInGb": 0,
                         "containerDiskInGb": opts.container_disk_gb, "env": env},
            "endpoint": endpoint,
        }

