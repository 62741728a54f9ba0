"""Local runtimes: each target's artifact under its platform's own runtime, no account.

The shapes (an HTTP server subprocess, an in-process runtime in a worker) live here; each
target's own runtime class lives in its package and is found through the registry.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from portapack.proof.runtimes.base import Outcome, Runtime, RuntimeFailed


def get_runtime(target: str, build_dir: Path, **kwargs: Any) -> Runtime:
    """The local runtime of ``target`` for the artifact in ``build_dir`` (not started)."""
    from portapack.building.builder import read_marker
    from portapack.targets import get_target

    chosen = get_target(target)
    if chosen.server_mode and (read_marker(Path(build_dir)) or {}).get("mode") == "server":
        chosen = chosen.resolve_ref(chosen.server_mode)()  # a server: build, its own runtime
    return chosen.runtime_class()(build_dir, **kwargs)


__all__ = ["Outcome", "Runtime", "RuntimeFailed", "get_runtime"]
