"""Replicate's Cog: cog.yaml, a BasePredictor with typed Input(...) literals, and a
deployment settings file for Replicate (GPU hardware and instances)."""

from __future__ import annotations

from typing import Any, ClassVar

from ..loader import Project
from ..render import py_literal
from ..signature import InputSpec
from .base import (
    Feature,
    GpuMapping,
    Note,
    Target,
    local_weights,
    weight_fetch_commands,
    with_requirements,
)

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
                                           *(["huggingface_hub>=0.34"] if any(
                                               w.scheme == "hf" for w in spec.weights) else [])),
            cog_inputs=[self.cog_input(i) for i in project.predictor.inputs],
            secret_inputs=[{"name": s.lower(), "env": s} for s in spec.secrets],
            dict_inputs=[i.name for i in project.predictor.inputs if i.kind == "dict"],
            output_annotation=self.output_annotation(project),
            cog_typing=", ".join(sorted({"Any"} | ({"Iterator"} if project.predictor.streaming else set())
                                        | ({"Optional"} if spec.secrets or any(
                                            i.optional for i in project.predictor.inputs) else set())
                                        | ({"Any"}))),
            raw_args=", ".join(f"{py_literal(i.name)}: {i.name}" for i in project.predictor.inputs),
            local_weights=weights,
            weight_links=[[w["source"], w["remote"]] for w in weights],
            secrets=spec.secrets,
            example_input=spec.examples[0].input if spec.examples else {},
            config=self.config(project),
            deployment=self.deployment(project),
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
        env = {k: v for k, v in spec.env.items() if not _forbidden_env(k)}
        if env:
            config["environment"] = [f"{k}={v}" for k, v in env.items()]
        config["predict"] = "cog_predict.py:Predictor"
        if spec.scaling.concurrency > 1 and spec.python != "3.10":
            config["concurrency"] = {"max": spec.scaling.concurrency}
        return config

    def deployment(self, project: Project) -> dict[str, Any]:
        spec = project.spec
        gpu = spec.resources.gpu
        hardware = spec.targets.cog.hardware or (self.gpu_name(gpu) if gpu else "cpu")
        if gpu and gpu.count > 1 and not spec.targets.cog.hardware:
            hardware = f"{hardware}-{gpu.count}x"
        return {"name": spec.name, "hardware": hardware,
                "min_instances": spec.scaling.min_replicas,
                "max_instances": spec.scaling.max_replicas}

    def cog_input(self, i: InputSpec) -> dict[str, str]:
        kind = i.kind
        if kind == "list":
            annotation = f"list[{i.item}]"
        elif kind == "dict":
            annotation = "str"
        else:
            annotation = kind
        if i.optional:
            annotation = f"Optional[{annotation}]"
        args = []
        if i.description:
            args.append(f"description={py_literal(i.description)}")
        if not i.required:
            default = i.default
            if kind == "dict" and default is not None:
                import json

                default = json.dumps(default)
            args.append(f"default={py_literal(default)}")
        for key, value in i.constraints.items():
            cog_key = {"pattern": "regex"}.get(key, key)
            args.append(f"{cog_key}={py_literal(value)}")
        if i.choices is not None:
            args.append(f"choices={py_literal(list(i.choices))}")
        return {"name": i.name, "annotation": annotation, "input": f"Input({', '.join(args)})"}

    def output_annotation(self, project: Project) -> str:
        pred = project.predictor
        if pred.streaming:
            return f"Iterator[{pred.output_kind or 'Any'}]"
        return "Any"

    def extra_notes(self, project: Project) -> list[Note]:
        spec = project.spec
        notes = []
        dropped = [k for k in spec.env if _forbidden_env(k)]
        if dropped:
            notes.append(Note(self.name, "env", f"Cog refuses to set {', '.join(dropped)} in "
                              "cog.yaml; left out"))
        if spec.scaling.concurrency > 1 and spec.python == "3.10":
            notes.append(Note(self.name, "scaling.concurrency",
                              "Cog needs Python >= 3.11 for concurrency; left at 1"))
        constrained = [i.name for i in project.predictor.inputs
                       if i.kind == "list" and i.constraints]
        if constrained:
            notes.append(Note(self.name, "inputs", f"Cog has no length limits on list inputs "
                              f"({', '.join(constrained)}); enforced in cog_predict.py instead"))
        return notes


def _forbidden_env(key: str) -> bool:
    return key in FORBIDDEN_ENV or key.startswith(FORBIDDEN_ENV_PREFIXES)
