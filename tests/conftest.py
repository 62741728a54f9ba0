"""Shared test set-up.

Every artifact runs in its own uv env (portapack.proof.envs). The whole session shares one cache
dir for those envs, made fresh for the session (so a run proves envs are built from scratch)
and removed at its end; uv's download cache is the developer's own, so wheels are fetched
once per machine, not once per session. Set PORTAPACK_CACHE_DIR yourself to keep the envs
between sessions.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

_SESSION_CACHE: str | None = None


def pytest_configure(config) -> None:
    global _SESSION_CACHE
    if not os.environ.get("PORTAPACK_CACHE_DIR"):
        user_cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "portapack"
        os.environ.setdefault("UV_CACHE_DIR", str(user_cache / "uv"))
        _SESSION_CACHE = tempfile.mkdtemp(prefix="portapack-test-cache-")
        # Subprocesses (the CLI under test) inherit it through the environment.
        os.environ["PORTAPACK_CACHE_DIR"] = _SESSION_CACHE


def pytest_unconfigure(config) -> None:
    if _SESSION_CACHE:
        shutil.rmtree(_SESSION_CACHE, ignore_errors=True)
