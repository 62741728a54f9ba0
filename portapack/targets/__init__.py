"""The registry of targets, by name. Each module defines one :class:`Target` subclass."""

from __future__ import annotations

from ..errors import TargetError
from .base import Feature, GpuMapping, Note, Target
from .cog import CogTarget
from .modal import ModalTarget
from .runpod import RunpodTarget
from .truss import TrussTarget

TARGETS: dict[str, type[Target]] = {
    t.name: t for t in (ModalTarget, CogTarget, TrussTarget, RunpodTarget)
}


def get_target(name: str) -> Target:
    try:
        return TARGETS[name]()
    except KeyError:
        raise TargetError(f"unknown target '{name}'; choose from {', '.join(TARGETS)} or all") from None


def resolve_targets(names: list[str] | tuple[str, ...] | str) -> list[Target]:
    """``"all"`` (registry order) or a list of names (their order) -> targets, without duplicates."""
    if isinstance(names, str):
        names = [names]
    if "all" in names:
        names = list(TARGETS)
    seen = dict.fromkeys(names)
    return [get_target(n) for n in seen]


__all__ = ["TARGETS", "Feature", "GpuMapping", "Note", "Target", "get_target", "resolve_targets"]
