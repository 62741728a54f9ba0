"""Replicate's Cog: cog.yaml, a runner (``class Runner(BaseRunner)`` with typed Input(...)
literals), and a deployment settings file for Replicate (GPU hardware and instances).

Written for Cog's current API (cog >= 0.20, tested with cog/coglet 0.23.1): ``run:`` in
cog.yaml, ``BaseRunner.run()``, ``@cog.concurrent(max=N)`` on an async ``run()`` (cog >= 0.21),
``ConcatenateIterator[str]`` for text streams (cog docs/yaml.md and docs/python.md at
replicate/cog 6110c912, 2026-08-21). ``predict:``, ``BasePredictor``, ``predict()`` and
``concurrency.max`` are deprecated there.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any, ClassVar

from portapack.building.render import dockerfile_quote
from portapack.cost.billing import BillingRule
from portapack.spec.gpu import CANONICAL
from portapack.spec.signature import InputSpec
from portapack.targets.artifacts import (
    example_input,
    hf_requirement,
    local_weights,
    typing_names,
    weight_fetch_commands,
    with_requirements,
)
from portapack.targets.base import Feature, GpuMapping, Hardware, Note, Target
from portapack.targets.cog.openapi import cog_rules, openapi_schema, strict_float_bounds
from portapack.targets.cog.options import CogOptions

if TYPE_CHECKING:
    from portapack.spec.loader import Project

RUNNER_FILE, RUNNER_CLASS = "run.py", "Runner"
# Replicate's multi-GPU SKUs (their naming is not uniform).
MULTI_GPU_SKUS = {
    "gpu-a40-large": {2: "gpu-a40-large-2x", 4: "gpu-a40-large-4x", 8: "gpu-a40-large-8x"},
    "gpu-l40s": {2: "gpu-2x-l40s", 4: "gpu-4x-l40s", 8: "gpu-8x-l40s"},
    "gpu-a100-large": {2: "gpu-a100-large-2x", 4: "gpu-a100-large-4x", 8: "gpu-a100-large-8x"},
    "gpu-h100": {2: "gpu-h100-2x", 4: "gpu-h100-4x", 8: "gpu-h100-8x"},
}
# GPU memory per GPU of Replicate's public hardware list (replicate.com/pricing, 2026-12-01).
SKU_MEMORY_GB = {"gpu-t4": 16, "gpu-a40-small": 48, "gpu-a40-large": 48, "gpu-l40s": 48,
                 "gpu-a100-large": 80, "gpu-h100": 80}
# Listed by Replicate as reserved for committed-spend contracts.
COMMITTED_SPEND = "gpu-h100"
# Replicate's API limits (POST/PATCH /v1/deployments in api.replicate.com/openapi.json).
MAX_MIN_INSTANCES, MAX_MAX_INSTANCES = 5, 20
# Cog copies each `environment` value into its Dockerfile `ENV K=V` line unquoted: BuildKit
# rejects or rewrites values with spaces, quotes, `$` or backslashes, so those are written
# Dockerfile-quoted inside cog.yaml (the image then gets the literal value).
NEEDS_ENV_QUOTES = re.compile(r"[\s\"'$\\`]")
# cog.yaml `environment` may not set these (Cog's own validator refuses them).
FORBIDDEN_ENV_PREFIXES = ("CUDA_", "NVIDIA_", "R8_", "REPLICATE_")
FORBIDDEN_ENV = {"PATH", "LD_LIBRARY_PATH", "PYTHONPATH", "VIRTUAL_ENV", "PYTHONUNBUFFERED",
                 "LD_PRELOAD", "HF_ENDPOINT", "HF_HUB_ENABLE_HF_TRANSFER", "COG_NO_UPDATE_CHECK"}


REPLICATE_IDLE_SECONDS = 300  # assumed idle before an instance scales down (see billing)

class CogTarget(Target):
    name = "cog"
    aliases = ("replicate",)
    title = "Cog"
    extra = "cog"
    options = CogOptions
    runtime = ".runtime:CogRuntime"
    server_mode = ".server:CogServerTarget"  # a server: project behind a proxy runner
    deployer = ".deployer:CogDeployer"
    importer = ".importer:CogImporter"
    vendor = "Replicate"
    # Replicate does not let a deployment set its idle time: its billing page says an instance
    # "will go idle for a few minutes rather than shutting down immediately"
    # (https://replicate.com/docs/billing, read 2026-12-01). An assumption, shown as one.
    billing = BillingRule("deployments and private models: per second of all online time (setup, "
                          "active and idle); min_instances always on. Public models: active time only",
                          idle_seconds=REPLICATE_IDLE_SECONDS, idle_name="idle (assumed)")
    # Public models bill active seconds only (the same page).
    billing_alternatives = {
        "as a public model (active time only)": BillingRule(
            "public model: active time only", bills_setup=False, bills_idle=False,
            always_on_min=False, idle_seconds=REPLICATE_IDLE_SECONDS),
    }
    client = ".client:ReplicateTransport"
    reserved_names = frozenset({"cog", "UserPredictor"})
    templates: ClassVar[dict[str, str]] = {
        "cog.yaml": "cog/cog.yaml.j2",
        RUNNER_FILE: "cog/run.py.j2",
        "requirements.txt": "_shared/requirements.txt.j2",
        "replicate-deployment.json": "cog/deployment.json.j2",
        ".dockerignore": "cog/dockerignore.j2",
        ".cog/openapi_schema.json": "cog/openapi_schema.json.j2",
        "README.md": "cog/README.md.j2",
        "portapack_files.py": "_shared/portapack_files.py.j2",  # file inputs/outputs, numpy, PIL
    }
    # Replicate hardware SKUs (cog.yaml only says `gpu: true`; the type is the deployment's).
    # Never a SKU with less GPU memory than asked for: 24 GB cards get an A40 (48 GB, the
    # cheapest such SKU); cards bigger than any SKU get the largest, with a note (see notes).
    gpu_names: ClassVar[dict[str, GpuMapping]] = {
        "T4": GpuMapping("gpu-t4"),
        "L4": GpuMapping("gpu-a40-large", exact=False),
        "A10G": GpuMapping("gpu-a40-large", exact=False),
        "RTX-4090": GpuMapping("gpu-a40-large", exact=False),
        "A6000": GpuMapping("gpu-a40-large", exact=False),
        "L40S": GpuMapping("gpu-l40s"),
        "A100-40GB": GpuMapping("gpu-a100-large", exact=False),
        "A100-80GB": GpuMapping("gpu-a100-large"),
        "H100": GpuMapping("gpu-h100"),
        "H200": GpuMapping("gpu-h100", exact=False),
        "B200": GpuMapping("gpu-h100", exact=False),
        "RTX-PRO-6000": GpuMapping("gpu-h100", exact=False),
    }
    unsupported: ClassVar[dict[Feature, str]] = {
        Feature.CPU: "Replicate sizes CPU by hardware SKU; resources.cpu is not applied",
        Feature.MEMORY: "Replicate sizes memory by hardware SKU; resources.memory is not applied",
        Feature.IDLE_TIMEOUT: "Replicate manages scale-down itself; scaling.idle_timeout is not applied",
        Feature.TIMEOUT: "Cog has no per-prediction timeout setting",
        Feature.SECRETS: "Replicate has no secret store for models: each secret becomes an optional "
        "cog.Secret input, exported to the environment while its request runs (not in load())",
        Feature.WEIGHTS_S3: "not fetched; download it in load() with your own credentials",
        Feature.WEIGHTS_GS: "not fetched; download it in load() with your own credentials",
    }

    def context(self, project: Project) -> dict[str, Any]:
        spec = project.spec
        ctx = self.base_context(project)
        weights = local_weights(project)
        strict_bounds = strict_float_bounds(project.predictor)
        ctx.update(
            requirements=with_requirements(project, "pydantic>=2",
                                           *hf_requirement(project)),
            runner_class=RUNNER_CLASS,
            runner_ref=f"{RUNNER_FILE}:{RUNNER_CLASS}",
            cog_inputs=[self.cog_input(i, rules, strict_bounds.get(i.name, []))
                        for i, rules in zip(project.predictor.inputs,
                                            cog_rules(project.predictor).values(), strict=True)],
            secret_inputs=[{"name": s.lower(), "env": s} for s in spec.secrets],
            output_annotation=self.output_annotation(project),
            cog_imports=self.cog_imports(project),
            cog_typing=self.typing_names(project),
            is_async=self.is_async(project),
            concurrency=spec.scaling.concurrency if self.is_async(project) else 1,
            file_inputs=project.predictor.file_inputs,
            local_weights=weights,
            secrets=spec.secrets,
            example_input=example_input(project),
            config=self.config(project),
            deployment=self.deployment(project),
            openapi=openapi_schema(project.predictor, spec.secrets),
        )
        return ctx

    def config(self, project: Project) -> dict[str, Any]:
        spec = project.spec
        build: dict[str, Any] = {"gpu": spec.resources.gpu is not None,
                                 "python_version": spec.python,
                                 "python_requirements": "requirements.txt"}
        if spec.system_packages:
            build["system_packages"] = list(spec.system_packages)
        run = spec.build_steps + weight_fetch_commands(project)
        if run:
            build["run"] = run
        config: dict[str, Any] = {"build": build}
        env = {k: v for k, v in self.image_env(project).items() if not _forbidden_env(k)}
        if env:
            config["environment"] = [
                f"{k}={dockerfile_quote(v) if not v or NEEDS_ENV_QUOTES.search(v) else v}"
                for k, v in env.items()]
        config["run"] = f"{RUNNER_FILE}:{RUNNER_CLASS}"
        return config

    def deployment(self, project: Project) -> dict[str, Any]:
        """Settings for a Replicate deployment (applied by ``portapack deploy``), within the
        API's limits."""
        spec = project.spec
        return {"name": spec.name, "hardware": self.hardware(project),
                "min_instances": min(spec.scaling.min_replicas, MAX_MIN_INSTANCES),
                "max_instances": min(spec.scaling.max_replicas, MAX_MAX_INSTANCES)}

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

    def cog_input(self, i: InputSpec, rules: dict[str, Any], strict: list[str]) -> dict[str, Any]:
        """One ``name: T = Input(...)`` parameter as data: its type, the keywords of its
        Input(...), every one a literal (Cog parses run.py statically), and the float's strict
        bounds that its ge/le stand for (``strict``, said in a comment)."""
        keywords: dict[str, Any] = {}
        if i.description:
            keywords["description"] = i.description
        if not i.required:
            keywords["default"] = i.default
        # Cog's own rules, derived from the Inputs model (openapi.cog_rules); the rest is
        # enforced by the Inputs model in run.py.
        keywords |= rules
        return {"name": i.name, "kind": i.kind, "item": i.item, "optional": i.optional,
                "input": keywords, "strict": strict}

    def stream_item(self, project: Project) -> str:
        kind = project.predictor.output_kind
        return "Path" if kind == "path" else kind or "Any"

    def output_annotation(self, project: Project) -> str:
        pred = project.predictor
        if pred.output_kind == "path":  # a cog.Path: Replicate uploads it
            return "Path"
        if pred.output_kind == "list" and pred.output_item == "path":
            return "list[Path]"
        if not pred.streaming:
            return pred.output_kind or "Any"
        prefix = "Async" if self.is_async(project) else ""
        if pred.output_kind == "str":  # a text stream: Replicate shows it as one growing string
            return f"{prefix}ConcatenateIterator[str]"
        return f"{prefix}Iterator[{self.stream_item(project)}]"

    def is_async(self, project: Project) -> bool:
        """Cog runs concurrent predictions only through an async run() (Python >= 3.11)."""
        return project.spec.scaling.concurrency > 1 and project.spec.python != "3.10"

    def cog_imports(self, project: Project) -> str:
        names = {"BaseRunner", "Input", "Path"}  # Path: file inputs and outputs (convert_output)
        annotation = self.output_annotation(project)
        names |= {n for n in ("ConcatenateIterator", "AsyncConcatenateIterator")
                  if re.match(rf"{n}\b", annotation)}
        if project.spec.secrets:
            names.add("Secret")
        if project.predictor.streaming:
            names.add("streaming")
        if self.is_async(project):
            names.add("concurrent")
        return ", ".join(sorted(names, key=lambda n: (n[0].islower(), n)))

    def typing_names(self, project: Project) -> str:
        pred = project.predictor
        names = set()
        annotation = self.output_annotation(project)
        names |= {n for n in ("Any", "AsyncIterator", "Iterator")
                  if re.search(rf"(?<![A-Za-z]){n}\b", annotation)}
        names |= {n for n in typing_names(pred).split(", ") if n}
        return ", ".join(sorted(names))

    def extra_notes(self, project: Project) -> list[Note]:
        spec = project.spec
        notes = []
        dropped = [k for k in spec.env if _forbidden_env(k)]
        if dropped:
            notes.append(Note(self.name, "env", f"Cog refuses to set {', '.join(dropped)} in "
                              "cog.yaml; left out"))
        gpu = spec.resources.gpu
        hardware = self.hardware(project)
        if gpu and not spec.targets.cog.hardware:
            sku = self.gpu_name(gpu) or ""
            if CANONICAL[gpu.type] > SKU_MEMORY_GB.get(sku, 0):
                notes.append(Note(self.name, "resources.gpu", f"no Replicate hardware has a GPU "
                                  f"with {CANONICAL[gpu.type]} GB like {gpu.type}: the largest, "
                                  f"{sku} ({SKU_MEMORY_GB[sku]} GB), is too small; set "
                                  "targets.cog.hardware if your model fits it"))
            if gpu.count > 1 and hardware == sku:
                notes.append(Note(self.name, "resources.gpu", f"Replicate has no {gpu.count}x "
                                  f"{sku} hardware; the deployment uses one GPU"))
        if hardware.startswith(COMMITTED_SPEND):
            field = "targets.cog.hardware" if spec.targets.cog.hardware else "resources.gpu"
            notes.append(Note(self.name, field, f"{hardware} is reserved by Replicate for "
                              "committed-spend contracts: an account without one cannot run it "
                              "(deploy checks the account's hardware list first)"))
        for field, value, limit in (("min_replicas", spec.scaling.min_replicas, MAX_MIN_INSTANCES),
                                    ("max_replicas", spec.scaling.max_replicas, MAX_MAX_INSTANCES)):
            if value > limit:
                notes.append(Note(self.name, f"scaling.{field}", f"Replicate deployments allow at "
                                  f"most {limit}; {limit} is used instead of {value}"))
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


    def validate(self, project: Project) -> list[str]:
        """Each secret is a Cog input of its lower-case name: it may not clash with an input."""
        inputs = {i.name for i in project.predictor.inputs}
        return super().validate(project) + [
            f"secrets: {secret} would clash with predict()'s input '{secret.lower()}' on Cog "
            "(each secret is an input of that name); rename one of them"
            for secret in project.spec.secrets if secret.lower() in inputs]

    def hardware_for(self, project: Project) -> Hardware:
        """The deployment's SKU; one unit's price key (Replicate spells multi-GPU SKUs both
        ways: gpu-2x-l40s and gpu-a100-large-2x)."""
        sku = self.hardware(project)
        if not sku.startswith("gpu-"):
            return Hardware(self.name, sku, sku)
        if m := re.fullmatch(r"gpu-(\d+)x-(.+)", sku):
            return Hardware(self.name, sku, f"gpu-{m.group(2)}", int(m.group(1)))
        if m := re.fullmatch(r"(gpu-.+)-(\d+)x", sku):
            return Hardware(self.name, sku, m.group(1), int(m.group(2)))
        return Hardware(self.name, sku, sku, 1)


def _forbidden_env(key: str) -> bool:
    return key in FORBIDDEN_ENV or key.startswith(FORBIDDEN_ENV_PREFIXES)
