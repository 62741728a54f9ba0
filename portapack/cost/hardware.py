"""The hardware each target maps the spec to: asked of the target itself
(``Target.hardware_for``), so a new target brings its own mapping."""

from __future__ import annotations

from typing import TYPE_CHECKING

from portapack.spec.gpu import CANONICAL
from portapack.targets.base import Hardware

if TYPE_CHECKING:
    from portapack.spec.loader import Project

__all__ = ["Hardware", "asked_memory_gb", "hardware_for"]


def asked_memory_gb(project: Project) -> int | None:
    """GPU memory the spec asks for, over all its GPUs (None without a GPU)."""
    gpu = project.spec.resources.gpu
    return None if gpu is None else CANONICAL[gpu.type] * gpu.count


def hardware_for(project: Project, target: str) -> Hardware:
    """The hardware ``target`` runs ``project`` on."""
    from portapack.targets import get_target

    return get_target(target).hardware_for(project)
