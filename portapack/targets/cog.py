"""Replicate's Cog: cog.yaml, a BasePredictor with typed Input(...) literals, and a
deployment settings file for Replicate (GPU hardware and instances)."""

from __future__ import annotations

import json
import re
from typing import Any, ClassVar

from ..loader import Project
from ..render import py_literal
from ..signature import InputSpec
from .base import (
    Feature,
    GpuMapping,
    Note,
    Target,
    example_input,
    hf_requirement,
    local_weights,
    typing_names,
    weight_fetch_commands,
    with_requirements,
)
from .cog_openapi import openapi_schema

# Input(...) keywords for string rules; Cog calls `pattern` `regex`.
STRING_RULES = {"min_length": "min_length", "max_length": "max_length", "pattern": "regex"}
# Replicate's multi-GPU SKUs (their naming is not uniform).
MULTI_GPU_SKUS = {
    "gpu-l40s": {2: "gpu-2x-l40s", 4: "gpu-4x-l40s", 8: "gpu-8x-l40s"},
    "gpu-a100-large": {2: "gpu-a100-large-2x", 4: "gpu-a100-large-4x", 8: "gpu-a100-large-8x"},
    "gpu-h100": {2: "gpu-h100-2x", 4: "gpu-h100-4x", 8: "gpu-h100-8x"},
}
# cog.yaml `environment` may not set these (Cog's own validator refuses them).
FORBIDDEN_ENV_PREFIXES = ("CUDA_", "NVIDIA_", "R8_", "REPLICATE_")
FORBIDDEN_ENV = {"PATH", "LD_LIBRARY_PATH", "PYTHONPATH", "VIRTUAL_ENV", "PYTHONUNBUFFERED",
                 "LD_PRELOAD", "HF_ENDPOINT", "HF_HUB_ENABLE_HF_TRANSFER", "COG_NO_UPDATE_CHECK"}


class CogTarget(Target):
    name = "cog"
    title = "Cog"
    extra = "cog"
    templates: ClassVar[dict[str, str]] = {
        "cog.yaml": "cog/cog.yaml.j2",
        "cog_predict.py": "cog/cog_predict.py.j2",
        "requirements.txt": "_shared/requirements.txt.j2",
        "replicate-deployment.json": "cog/deployment.json.j2",
        ".dockerignore": "cog/dockerignore.j2",
        ".cog/openapi_schema.json": "cog/openapi_schema.json.j2",
        "README.md": "cog/README.md.j2",
    }
    # Replicate hardware SKUs (cog.yaml only says `gpu: true`; the type is the deployment's).
    gpu_names: ClassVar[dict[str, GpuMapping]] = {
        "T4": GpuMapping("gpu-t4"),
        "L4": GpuMapping("gpu-t4", exact=False),
        "A10G": GpuMapping("gpu-l40s", exact=False),
        "RTX-4090": GpuMapping("gpu-l40s", exact=False),
        "A6000": GpuMapping("gpu-l40s", exact=False),
        "L40S": GpuMapping("gpu-l40s"),
        "A100-40GB": GpuMapping("gpu-a100-large", exact=False),
        "A100-80GB": GpuMapping("gpu-a100-large"),
        "H100": GpuMapping("gpu-h100"),
        "H200": GpuMapping("gpu-h100", exact=False),
        "B200": GpuMapping("gpu-h100", exact=False),
        "RTX-PRO-6000": GpuMapping("gpu-l40s", exact=False),
    }
    unsupported: ClassVar[dict[Feature, str]] = {
        Feature.CPU: "Replicate sizes CPU by hardware SKU; resources.cpu is not applied",
        Feature.MEMORY: "Replicate sizes memory by hardware SKU; resources.memory is not applied",
        Feature.IDLE_TIMEOUT: "Replicate manages scale-down itself; scaling.idle_timeout is not applied",
        Feature.TIMEOUT: "Cog has no per-prediction timeout setting",
        Feature.SECRETS: "Replicate has no secret store for models: each secret becomes an optional "
        "cog.Secret input, exported to the environment before predict() (not available in load())",
        Feature.DICT_INPUT: "Cog inputs cannot be objects: dict inputs are taken as a JSON string",
        Feature.WEIGHTS_S3: "not fetched; download it in load() with your own credentials",
        Feature.WEIGHTS_GS: "not fetched; download it in load() with your own credentials",
    }

    def context(self, project: Project) -> dict[str, Any]:
        spec = project.spec
        ctx = self.base_context(project)
        weights = local_weights(project)
        ctx.update(
            requirements=with_requirements(project, "pydantic>=2",
                                           *hf_requirement(project)),
            cog_inputs=[self.cog_input(i) for i in project.predictor.inputs],
            secret_inputs=[{"name": s.lower(), "env": s} for s in spec.secrets],
            dict_inputs=[i.name for i in project.predictor.inputs if i.kind == "dict"],
            output_annotation=self.output_annotation(project),
            cog_typing=self.typing_names(project),
            is_async=self.is_async(project),
            raw_args=", ".join(f"{py_literal(i.name)}: {i.name}" for i in project.predictor.inputs),
            local_weights=weights,
            secrets=spec.secrets,
            example_input=example_input(project),
            config=self.config(project),
            deployment=self.deployment(project),
            openapi=openapi_schema(project.predictor, spec.secrets, {
                i.name: (json.dumps(i.default) if i.kind == "dict" else i.default)
                for i in project.predictor.inputs if not i.required and i.default is not None}),
        )
        return ctx

    def config(self, project: Project) -> dict[str, Any]:
        spec = project.spec
        build: dict[str, Any] = {"gpu": spec.resources.gpu is not None,
                                 "python_version": spec.python,
                                 "python_requirements": "requirements.txt"}
        if spec.system_packages:
            build["system_packages"] = list(spec.system_packages)
        run = list(spec.build_commands) + weight_fetch_commands(project)
        if run:
            build["run"] = run
        config: dict[str, Any] = {"build": build}
        env = {k: v for k, v in self.image_env(project).items() if not _forbidden_env(k)}
        if env:
            config["environment"] = [f"{k}={v}" for k, v in env.items()]
        config["predict"] = "cog_predict.py:Predictor"
        if spec.scaling.concurrency > 1 and spec.python != "3.10":
            config["concurrency"] = {"max": spec.scaling.concurrency}
        return config

    def deployment(self, project: Project) -> dict[str, Any]:
        """Settings for a Replicate deployment (applied by ``portapack deploy``)."""
        spec = project.spec
        return {"name": spec.name, "hardware": self.hardware(project),
                "min_instances": spec.scaling.min_replicas,
                "max_instances": spec.scaling.max_replicas}

    def hardware(self, project: Project) -> str:
        spec = project.spec
        gpu = spec.resources.gpu
        if spec.targets.cog.hardware:
            return spec.targets.cog.hardware
        if gpu is None:
            return "cpu"
        sku = self.gpu_name(gpu) or "cpu"
        if gpu.count > 1:
            multi = MULTI_GPU_SKUS.get(sku, {}).get(gpu.count)
            return multi or sku
        return sku

    def cog_input(self, i: InputSpec) -> dict[str, str]:
        """One ``name: T = Input(...)`` parameter; every argument a literal (Cog parses statically)."""
        annotation = {"list": f"list[{i.item}]", "dict": "str"}.get(i.kind, i.kind)
        if i.optional:
            annotation = f"Optional[{annotation}]"
        args = []
        if i.description:
            args.append(f"description={py_literal(i.description)}")
        if not i.required:
            default = json.dumps(i.default) if i.kind == "dict" and i.default is not None else i.default
            args.append(f"default={py_literal(default)}")
        # Cog allows choices (2 or more, not with other rules), ge/le on numbers, lengths and
        # regex on strings; the rest is enforced by the Inputs model in cog_predict.py.
        if i.choices is not None and len(i.choices) >= 2:
            args.append(f"choices={py_literal(list(i.choices))}")
        elif i.choices is None:
            for key, value in i.constraints.items():
                if key in ("ge", "le") or (i.kind == "str" and key in STRING_RULES):
                    args.append(f"{STRING_RULES.get(key, key)}={py_literal(value)}")
        return {"name": i.name, "annotation": annotation, "input": f"Input({', '.join(args)})"}

    def output_annotation(self, project: Project) -> str:
        pred = project.predictor
        if pred.streaming:
            item = pred.output_kind or "Any"
            return f"AsyncIterator[{item}]" if self.is_async(project) else f"Iterator[{item}]"
        return pred.output_kind or "Any"

    def is_async(self, project: Project) -> bool:
        """Cog runs concurrent predictions only through an async predict()."""
        return project.spec.scaling.concurrency > 1 and project.spec.python != "3.10"

    def typing_names(self, project: Project) -> str:
        pred = project.predictor
        names = set()
        annotation = self.output_annotation(project)
        names |= {n for n in ("Any", "AsyncIterator", "Iterator")
                  if re.search(rf"\b{n}\b", annotation)}
        names |= {n for n in typing_names(pred).split(", ") if n}
        if project.spec.secrets or any(i.optional for i in pred.inputs):
            names.add("Optional")
        return ", ".join(sorted(names))

    def extra_notes(self, project: Project) -> list[Note]:
        spec = project.spec
        notes = []
        dropped = [k for k in spec.env if _forbidden_env(k)]
        if dropped:
            notes.append(Note(self.name, "env", f"Cog refuses to set {', '.join(dropped)} in "
                              "cog.yaml; left out"))
        gpu = spec.resources.gpu
        if gpu and gpu.count > 1 and not spec.targets.cog.hardware and self.hardware(project) \
                == self.gpu_name(gpu):
            notes.append(Note(self.name, "resources.gpu", f"Replicate has no {gpu.count}x "
                              f"{self.hardware(project)} hardware; the deployment uses one GPU"))
        if spec.secrets and self.is_async(project):
            notes.append(Note(self.name, "secrets", "with concurrency > 1, concurrent predictions "
                              "share one process environment: a secret set by one request is "
                              "visible to others running at the same time"))
        if spec.targets.cog.hardware and spec.targets.cog.hardware != "cpu" and not gpu:
            notes.append(Note(self.name, "targets.cog.hardware", f"{spec.targets.cog.hardware} "
                              "with no resources.gpu: cog.yaml says gpu: false (no CUDA in the image)"))
        if spec.scaling.concurrency > 1 and spec.python == "3.10":
            notes.append(Note(self.name, "scaling.concurrency",
                              "Cog needs Python >= 3.11 for concurrency; left at 1"))
        return notes + self.build_time_weights_note(project)


def _forbidden_env(key: str) -> bool:
    return key in FORBIDDEN_ENV or key.startswith(FORBIDDEN_ENV_PREFIXES)
