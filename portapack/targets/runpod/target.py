"""RunPod serverless: a plain Dockerfile + handler.py worker, and the endpoint settings."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

from portapack.cost.billing import BillingRule
from portapack.spec.gpu import GpuRequest
from portapack.targets.artifacts import (
    code_entries,
    example_input,
    hf_requirement,
    local_weights,
    typing_names,
    weight_fetch_commands,
    with_requirements,
)
from portapack.targets.base import Feature, GpuMapping, Hardware, Note, Target
from portapack.targets.features import asked_for
from portapack.targets.runpod.options import RunpodOptions

if TYPE_CHECKING:
    from collections.abc import Mapping
    from datetime import date

    from portapack.cost.table import Price
    from portapack.spec.loader import Project

# uv installs the image's dependencies (as Cog and Truss do); it comes from PyPI, so a build
# needs no registry besides the base image's.
UV_REQUIREMENT = "uv>=0.9,<0.14"


# RunPod serverless chooses GPUs by POOL, not by card (REST API v2, RunPod's OpenAPI document
# of 2026-08-20, CreateEndpointRequest.gpu; RunPod's serverless GPU docs, read 2026-12-01). This
# is the build-time table: pool -> the GPU type ids in it. At deploy time the live map from
# GET /v2/catalog/gpus replaces it. Card lists: RunPod's serverless docs (read 2026-12-01),
# completed from its Flash docs (docs.runpod.io/flash/configuration/gpu-types), which put L4 in
# ADA_24 rather than AMPERE_24: the live catalog settles it at deploy time.
POOL_CARDS: dict[str, tuple[str, ...]] = {
    "AMPERE_16": ("NVIDIA RTX A4000", "NVIDIA RTX 4000 Ada Generation",
                  "NVIDIA RTX 2000 Ada Generation"),
    "AMPERE_24": ("NVIDIA L4", "NVIDIA RTX A5000", "NVIDIA GeForce RTX 3090"),
    "ADA_24": ("NVIDIA GeForce RTX 4090",),
    "ADA_32_PRO": ("NVIDIA GeForce RTX 5090",),
    "AMPERE_48": ("NVIDIA RTX A6000", "NVIDIA A40"),
    "ADA_48_PRO": ("NVIDIA L40S", "NVIDIA L40", "NVIDIA RTX 6000 Ada Generation"),
    "AMPERE_80": ("NVIDIA A100 80GB PCIe", "NVIDIA A100-SXM4-80GB"),
    "ADA_80_PRO": ("NVIDIA H100 80GB HBM3", "NVIDIA H100 PCIe", "NVIDIA H100 NVL"),
    "HOPPER_141": ("NVIDIA H200",),
    "BLACKWELL_96": ("NVIDIA RTX PRO 6000 Blackwell Server Edition",),
    "BLACKWELL_180": ("NVIDIA B200",),
}
# The card a canonical GPU names, when RunPod has it (None: no such card on RunPod).
CARDS: dict[str, str | None] = {
    "T4": None, "L4": "NVIDIA L4", "A10G": None, "RTX-4090": "NVIDIA GeForce RTX 4090",
    "A6000": "NVIDIA RTX A6000", "L40S": "NVIDIA L40S", "A100-40GB": None,
    "A100-80GB": "NVIDIA A100 80GB PCIe", "H100": "NVIDIA H100 80GB HBM3", "H200": "NVIDIA H200",
    "B200": "NVIDIA B200", "RTX-PRO-6000": "NVIDIA RTX PRO 6000 Blackwell Server Edition",
}
# CPU endpoints: one flavour (the OpenAPI document's CPU example), a power-of-two vCPU count
# of at least 2 (BaseCpuConfig.vcpuCount); 32 is the largest the catalog's example lists.
CPU_FLAVOR = "cpu5c"
MAX_VCPUS = 32
QUEUE_DELAY_S = 4  # RunPod's default scaler: add a worker when a job waits this long
PLACEHOLDER_IMAGE = "REGISTRY/{name}:TAG"


def fallback_card_pools() -> dict[str, str]:
    """GPU type id -> pool, from the build-time table."""
    return {card: pool for pool, cards in POOL_CARDS.items() for card in cards}


# The runpod SDK the generated handler.py needs (an imported worker's own pin must allow it).
RUNPOD_REQUIREMENT = "runpod>=1.12,<2"


@dataclass(frozen=True)
class GpuSelection:
    """The ``gpu`` block of an endpoint: pools, cards excluded, and the cards that remain."""

    pools: list[str]
    excluded: list[str]
    allowed: list[str]
    count: int

    def body(self) -> dict[str, Any]:
        gpu: dict[str, Any] = {"pools": self.pools, "count": self.count}
        if self.excluded:
            gpu["excludedTypes"] = self.excluded
        return gpu


def select_gpu(gpu: GpuRequest, pinned: list[str] | None,
               card_pools: dict[str, str]) -> GpuSelection:
    """Pools for a GPU request. ``card_pools`` maps GPU type id -> pool (the live catalog or
    :func:`fallback_card_pools`). Without ``pinned`` cards the whole pool of the canonical
    GPU is used (RunPod prices per pool); pinned cards keep their pools minus every other
    card. ``ValueError`` names a pinned card no pool holds."""
    if pinned:
        unknown = [c for c in pinned if c not in card_pools]
        if unknown:
            known = ", ".join(sorted(card_pools))
            raise ValueError(f"targets.runpod.gpu_type_ids: {', '.join(unknown)} is in no RunPod "
                             f"serverless pool; known GPU type ids: {known}")
        pools = list(dict.fromkeys(card_pools[c] for c in pinned))
    else:
        card = CARDS[gpu.type]
        pools = [card_pools.get(card) or RunpodTarget.gpu_names[gpu.type].name] if card else [
            RunpodTarget.gpu_names[gpu.type].name]
    in_pools = sorted(c for c, p in card_pools.items() if p in pools)
    excluded = [c for c in in_pools if pinned and c not in pinned]
    allowed = [c for c in in_pools if c not in excluded]
    return GpuSelection(pools, excluded, allowed, gpu.count)


def vcpu_count(cpu: float) -> int:
    """resources.cpu as RunPod takes it: a power of two from 2 to MAX_VCPUS, rounded up."""
    return min(MAX_VCPUS, max(2, 2 ** math.ceil(math.log2(cpu))))


def flashboot_mode(value: bool | str) -> str:
    """The v2 enum; the v1-era boolean still means FLASHBOOT (true) or OFF (false)."""
    if isinstance(value, bool):
        return "FLASHBOOT" if value else "OFF"
    return value


class RunpodTarget(Target):
    name = "runpod"
    title = "RunPod"
    extra = "runpod"
    options = RunpodOptions
    runtime = ".runtime:RunpodRuntime"
    server_mode = ".server:RunpodServerTarget"  # a server: project as a load-balancing endpoint
    deployer = ".deployer:RunpodDeployer"
    importer = ".importer:RunpodImporter"
    vendor = "RunPod"
    billing = BillingRule("per second of worker time: start-up, requests, and idleTimeout after "
                          "each burst; workers.min always on", idle_name="idleTimeout")
    client = ".client:RunpodTransport"
    image_runtime = ".image:docker_runtime_factory"
    reserved_names = frozenset({"runpod"})
    templates: ClassVar[dict[str, str]] = {
        "handler.py": "runpod/handler.py.j2",
        "Dockerfile": "runpod/Dockerfile.j2",
        ".dockerignore": "runpod/dockerignore.j2",
        "requirements.txt": "_shared/requirements.txt.j2",
        "endpoint.json": "runpod/endpoint.json.j2",
        "README.md": "runpod/README.md.j2",
        "portapack_files.py": "_shared/portapack_files.py.j2",  # file inputs/outputs, numpy, PIL
    }
    # Serverless GPU pools (see POOL_CARDS). RunPod has no T4, A10G or 40 GB A100: the nearest
    # pool with at least as much memory stands in.
    gpu_names: ClassVar[dict[str, GpuMapping]] = {
        "T4": GpuMapping("AMPERE_16", exact=False),
        "L4": GpuMapping("AMPERE_24"),
        "A10G": GpuMapping("AMPERE_24", exact=False),
        "RTX-4090": GpuMapping("ADA_24"),
        "A6000": GpuMapping("AMPERE_48"),
        "L40S": GpuMapping("ADA_48_PRO"),
        "A100-40GB": GpuMapping("AMPERE_80", exact=False),
        "A100-80GB": GpuMapping("AMPERE_80"),
        "H100": GpuMapping("ADA_80_PRO"),
        "H200": GpuMapping("HOPPER_141"),
        "B200": GpuMapping("BLACKWELL_180"),
        "RTX-PRO-6000": GpuMapping("BLACKWELL_96"),
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
            # A bare `runpod` (the predictor uses the SDK, any version) gets the handler's range.
            requirements=[RUNPOD_REQUIREMENT if r.strip().lower() == "runpod" else r for r in
                          with_requirements(project, RUNPOD_REQUIREMENT, "pydantic>=2",
                                            *hf_requirement(project))],
            base_image=self.base_image(project),
            system_packages=spec.system_packages,
            docker_env=self.image_env(project),
            build_commands=spec.build_steps,
            weight_commands=weight_fetch_commands(project),
            fetched_weight_paths=[w.path for w in spec.weights if w.scheme in ("hf", "https")],
            uv_requirement=UV_REQUIREMENT,
            local_weights=local_weights(project),
            code_entries=list(code_entries(project)),
            concurrency=spec.scaling.concurrency,
            secrets=spec.secrets,
            example_input=example,
            endpoint=self.endpoint(project),
        )
        return ctx

    def validate(self, project: Project) -> list[str]:
        spec, problems = project.spec, super().validate(project)
        if spec.server is not None and spec.server.port == 65535:
            # The /ping sidecar (server.py) listens on port + 1, which must exist.
            problems.append("server.port: RunPod's health sidecar listens on port + 1, so "
                            "65535 cannot be used; choose a port up to 65534")
        if spec.resources.gpu is not None:
            try:
                select_gpu(spec.resources.gpu, spec.targets.runpod.gpu_type_ids,
                           fallback_card_pools())
            except ValueError as exc:
                problems.append(str(exc))
        return problems

    def extra_notes(self, project: Project) -> list[Note]:
        spec = project.spec
        notes = []
        gpu = spec.resources.gpu
        if gpu and asked_for(spec.resources, "cpu"):
            notes.append(Note(self.name, "resources.cpu", "GPU workers get the CPUs of their GPU "
                              "type; resources.cpu is not applied"))
        if spec.targets.runpod.gpu_type_ids and not gpu:
            notes.append(Note(self.name, "targets.runpod.gpu_type_ids", "ignored: the spec has no "
                              "resources.gpu, so the endpoint is a CPU endpoint"))
        if (not gpu and asked_for(spec.resources, "cpu")
                and vcpu_count(spec.resources.cpu) != spec.resources.cpu):
            notes.append(Note(self.name, "resources.cpu", f"{spec.resources.cpu:g} CPU becomes "
                              f"{vcpu_count(spec.resources.cpu)} vCPUs: RunPod CPU workers take a "
                              f"power of two from 2 to {MAX_VCPUS}"))
        return notes + self.build_time_weights_note(project)

    def base_image(self, project: Project) -> str:
        return project.spec.targets.runpod.base_image or f"python:{project.spec.python}-slim"

    def endpoint(self, project: Project, card_pools: dict[str, str] | None = None,
                 image: str | None = None) -> dict[str, Any]:
        """The body of ``POST /v2/serverless`` (CreateEndpointRequest in RunPod's OpenAPI
        document): the image, the GPU pools (``card_pools`` from the live catalog, else the
        build-time table) or CPU flavour, workers, scaling, timeout in ms, FlashBoot, env."""
        spec, opts = project.spec, project.spec.targets.runpod
        env = dict(spec.env)
        env.update({s: f"{{{{ RUNPOD_SECRET_{s} }}}}" for s in spec.secrets})
        body: dict[str, Any] = {
            "name": spec.name,
            "type": "QUEUE",
            "image": image or PLACEHOLDER_IMAGE.format(name=spec.name),
        }
        gpu = spec.resources.gpu
        if gpu:
            body["gpu"] = select_gpu(gpu, opts.gpu_type_ids,
                                     card_pools or fallback_card_pools()).body()
        else:
            body["cpu"] = [{"id": CPU_FLAVOR, "vcpuCount": vcpu_count(spec.resources.cpu)}]
        body |= {
            "workers": {"min": spec.scaling.min_replicas, "max": spec.scaling.max_replicas,
                        "idleTimeout": spec.scaling.idle_timeout},
            "scaling": {"type": "QUEUE_DELAY", "queueDelay": QUEUE_DELAY_S},
            "timeout": spec.scaling.timeout * 1000,
            "flashboot": flashboot_mode(opts.flashboot),
            "disk": opts.container_disk_gb,
            "env": env,
        }
        return body

    def hardware_for(self, project: Project) -> Hardware:
        """The serverless pools (priced per pool), or the CPU flavour and vCPUs."""
        endpoint = self.endpoint(project)
        gpu = endpoint.get("gpu")
        if gpu:
            pools = list(dict.fromkeys(gpu["pools"]))
            return Hardware(self.name, ", ".join(pools), pools[0], int(gpu.get("count", 1)),
                            fallbacks=tuple(pools[1:]))
        flavor = endpoint["cpu"][0]
        return Hardware(self.name, f"{flavor['id']} x{flavor['vcpuCount']}", "cpu",
                        cpu_cores=float(flavor["vcpuCount"]))

    def live_prices(self, today: date, env: Mapping[str, str]) -> list[Price]:
        from portapack.targets.runpod.prices import live_pool_prices

        return live_pool_prices(today, env)
