"""What hardware each target maps the spec to, read from the targets' own public methods.

This is the only module of ``portapack.cost`` that knows how a target names its hardware, so
that a change to a target's mapping is followed here, in one place. Each function returns the
hardware name as the artifact carries it plus the key of its row in the price table.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ..gpu import CANONICAL
from ..loader import Project

# RunPod serverless pools by card (gpuTypeId), from PLATFORMS.md (checked 2026-12-01) and the
# pool field of RunPod's GET /v2/catalog/gpus. Used only while the RunPod target still names
# cards (gpuTypeIds) rather than pools.
RUNPOD_CARD_POOLS: dict[str, str] = {
    "NVIDIA RTX A4000": "AMPERE_16",
    "NVIDIA RTX A4500": "AMPERE_16",
    "NVIDIA RTX 4000 Ada Generation": "AMPERE_16",
    "NVIDIA L4": "AMPERE_24",
    "NVIDIA RTX A5000": "AMPERE_24",
    "NVIDIA GeForce RTX 3090": "AMPERE_24",
    "NVIDIA GeForce RTX 4090": "ADA_24",
    "NVIDIA RTX A6000": "AMPERE_48",
    "NVIDIA A40": "AMPERE_48",
    "NVIDIA L40S": "ADA_48_PRO",
    "NVIDIA L40": "ADA_48_PRO",
    "NVIDIA RTX 6000 Ada Generation": "ADA_48_PRO",
    "NVIDIA A100 80GB PCIe": "AMPERE_80",
    "NVIDIA A100-SXM4-80GB": "AMPERE_80",
    "NVIDIA H100 80GB HBM3": "ADA_80_PRO",
    "NVIDIA H100 PCIe": "ADA_80_PRO",
    "NVIDIA H100 NVL": "ADA_80_PRO",
    "NVIDIA H200": "HOPPER_141",
    "NVIDIA RTX PRO 6000 Blackwell Server Edition": "BLACKWELL_96",
    "NVIDIA B200": "BLACKWELL_180",
}


@dataclass(frozen=True)
class Hardware:
    """The hardware one target runs the spec on."""

    target: str
    name: str  # as the artifact says it: "A100-80GB:2", "gpu-a100-large-2x", "AMPERE_80", "cpu"
    price_key: str  # the price table's `hardware` for one unit (one GPU, or the CPU instance)
    gpu_count: int = 0  # 0: a CPU-only replica
    cpu_cores: float | None = None  # for platforms that bill cores and memory separately (Modal)
    memory_gib: float | None = None
    fallbacks: tuple[str, ...] = ()  # further price keys the platform may also place it on

    @property
    def is_gpu(self) -> bool:
        return self.gpu_count > 0


def asked_memory_gb(project: Project) -> int | None:
    """GPU memory the spec asks for, over all its GPUs (None without a GPU)."""
    gpu = project.spec.resources.gpu
    return None if gpu is None else CANONICAL[gpu.type] * gpu.count


def _name_and_count(value: str) -> tuple[str, int]:
    """Modal's and Truss's "NAME:N" shorthand -> (NAME, N)."""
    name, _, count = value.partition(":")
    return name, int(count) if count.isdigit() else 1


def modal_hardware(project: Project) -> Hardware:
    from ..targets.modal import ModalTarget

    values = ModalTarget().cls_values(project)
    cpu, memory = float(values["cpu"]), values["memory"] / 1024  # Modal takes memory in MiB
    gpu = values.get("gpu")
    if not gpu:
        return Hardware("modal", "cpu", "cpu-core", 0, cpu, memory)
    choices = [gpu] if isinstance(gpu, str) else list(gpu)  # a list means fallbacks
    name, count = _name_and_count(choices[0])
    return Hardware("modal", choices[0], name, count, cpu, memory,
                    tuple(_name_and_count(c)[0] for c in choices[1:]))


def cog_hardware(project: Project) -> Hardware:
    from ..targets.cog import CogTarget

    sku = CogTarget().hardware(project)
    if sku == "cpu" or not sku.startswith("gpu-"):
        return Hardware("cog", sku, sku)
    # Replicate spells multi-GPU SKUs both ways: gpu-2x-l40s and gpu-a100-large-2x.
    if m := re.fullmatch(r"gpu-(\d+)x-(.+)", sku):
        return Hardware("cog", sku, f"gpu-{m.group(2)}", int(m.group(1)))
    if m := re.fullmatch(r"(gpu-.+)-(\d+)x", sku):
        return Hardware("cog", sku, m.group(1), int(m.group(2)))
    return Hardware("cog", sku, sku, 1)


def truss_hardware(project: Project) -> Hardware:
    from ..targets.truss import TrussTarget

    accelerator = TrussTarget().accelerator(project)
    if not accelerator:
        return Hardware("truss", "cpu", "cpu")
    name, count = _name_and_count(accelerator)
    return Hardware("truss", accelerator, name, count)


def runpod_hardware(project: Project) -> Hardware:
    from ..targets.runpod import RunpodTarget

    bodies: dict[str, Any] = RunpodTarget().endpoint(project)
    endpoint = bodies.get("endpoint", bodies)
    gpu = endpoint.get("gpu")
    if isinstance(gpu, dict) and gpu.get("pools"):  # REST v2: {"gpu": {"pools": [...], "count": n}}
        pools, count = list(gpu["pools"]), int(gpu.get("count", 1))
    elif endpoint.get("gpuTypeIds"):  # cards: price them by their pool
        pools = [RUNPOD_CARD_POOLS.get(card, card) for card in endpoint["gpuTypeIds"]]
        count = int(endpoint.get("gpuCount", 1))
    else:
        cpu = endpoint.get("cpu")
        flavor = cpu[0] if isinstance(cpu, list) and cpu else {}
        vcpus = flavor.get("vcpuCount", endpoint.get("vcpuCount"))
        name = f"{flavor.get('id', 'cpu')} x{vcpus}" if vcpus else "cpu"
        return Hardware("runpod", name, "cpu", cpu_cores=float(vcpus) if vcpus else None)
    pools = list(dict.fromkeys(pools))
    return Hardware("runpod", pools[0] if len(pools) == 1 else ", ".join(pools), pools[0], count,
                    fallbacks=tuple(pools[1:]))


HARDWARE: dict[str, Callable[[Project], Hardware]] = {
    "modal": modal_hardware,
    "cog": cog_hardware,
    "truss": truss_hardware,
    "runpod": runpod_hardware,
}


def hardware_for(project: Project, target: str) -> Hardware:
    """The hardware ``target`` runs ``project`` on."""
    return HARDWARE[target](project)
