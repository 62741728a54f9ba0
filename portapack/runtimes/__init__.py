"""Local runtimes: each target's artifact under its platform's own runtime, no account."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..errors import TargetError
from .base import Outcome, Runtime, RuntimeFailed
from .cog import CogRuntime
from .inprocess import ModalRuntime, TrussRuntime
from .runpod import RunpodRuntime

RUNTIMES: dict[str, type[Runtime]] = {
    r.target: r for r in (ModalRuntime, CogRuntime, TrussRuntime, RunpodRuntime)
}


def get_runtime(target: str, build_dir: Path, **kwargs: Any) -> Runtime:
    try:
        return RUNTIMES[target](build_dir, **kwargs)
    except KeyError:
        raise TargetError(f"no local runtime for '{target}'") from None


__all__ = ["RUNTIMES", "Outcome", "Runtime", "RuntimeFailed", "get_runtime"]
