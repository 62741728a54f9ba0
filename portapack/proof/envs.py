"""One Python environment per artifact, built with uv and cached by a hash of its inputs.

Each target's artifact runs locally in an environment made from that artifact's own
requirements file plus the runtime package its platform runs (coglet for Cog, Truss's
server requirements, modal, runpod) and nothing else: a requirement missing from the spec
fails there as it would on the platform. portapack itself is never installed in it; the
stdlib-only workers are run by path (``python -P``).

Layout (``PORTAPACK_CACHE_DIR``, else ``$XDG_CACHE_HOME/portapack``, else
``~/.cache/portapack``)::

    uv/          uv's download cache, shared by every env (one download per wheel)
    envs/<key>/  one venv; ``.portapack-env.json`` is written last and marks it complete

A warm env is found by its key alone: no uv call, no network, well under a second.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import platform
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from portapack.errors import PortapackError

# Bump to rebuild every cached env (a change to how they are made).
RECIPE = 1
MARKER = ".portapack-env.json"


class EnvError(PortapackError):
    """An artifact's environment could not be created (a requirement that does not install)."""


@dataclass(frozen=True)
class Env:
    """A ready environment: its folder, its interpreter, and how long getting it took."""

    path: Path
    created: bool
    seconds: float

    @property
    def python(self) -> Path:
        return self.path / "bin" / "python"

    @property
    def bin(self) -> Path:
        return self.path / "bin"


def cache_root() -> Path:
    """Where portapack caches envs and downloads (the user's cache dir, never the project)."""
    if os.environ.get("PORTAPACK_CACHE_DIR"):
        return Path(os.environ["PORTAPACK_CACHE_DIR"])
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "portapack"


def uv_bin() -> str:
    """The uv binary: the one the ``uv`` wheel ships (a portapack dependency), else PATH's."""
    try:
        import uv

        return uv.find_uv_bin()
    except (ImportError, FileNotFoundError):
        found = shutil.which("uv")
        if found:
            return found
    raise EnvError("portapack test needs uv to create each artifact's environment: "
                   "pip install uv (or reinstall portapack)")


def base_python() -> str:
    """The interpreter envs are made from: portapack's own, outside any venv."""
    return getattr(sys, "_base_executable", None) or sys.executable


def env_key(label: str, files: list[Path], packages: list[str], python: str) -> str:
    """A hash of everything that decides what lands in the env."""
    try:
        from importlib.metadata import version

        uv_version = version("uv")
    except Exception:  # uv from PATH: its version is not known without a subprocess
        uv_version = "path"
    parts = {
        "recipe": RECIPE, "label": label, "packages": sorted(packages), "python": python,
        "version": sys.version, "machine": platform.machine(), "uv": uv_version,
        "files": {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in files},
    }
    return hashlib.sha256(json.dumps(parts, sort_keys=True).encode()).hexdigest()[:16]


def ensure_env(label: str, *, requirements: Path | None = None, constraints: Path | None = None,
               packages: list[str] | tuple[str, ...] = (), python: str | None = None) -> Env:
    """The cached env for ``requirements`` (a requirements.txt), ``constraints`` and
    ``packages``; created with uv on first use. Safe for two concurrent runs (a file lock)."""
    started = time.perf_counter()
    python = python or base_python()
    files = [p for p in (requirements, constraints) if p is not None]
    key = env_key(label, files, list(packages), python)
    envs = cache_root() / "envs"
    path = envs / f"{label}-{key}"
    if (path / MARKER).is_file():  # the warm path: nothing to run, works offline
        return Env(path, False, time.perf_counter() - started)
    envs.mkdir(parents=True, exist_ok=True)
    with open(envs / f"{label}-{key}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # another run may be building this very env
        if not (path / MARKER).is_file():
            _create(path, python, requirements, constraints, list(packages))
    return Env(path, True, time.perf_counter() - started)


def uv_environ() -> dict[str, str]:
    """uv runs with the developer's environment (their proxy, CA and index settings apply),
    its cache in portapack's, and never downloads a Python."""
    env = dict(os.environ)
    env.setdefault("UV_CACHE_DIR", str(cache_root() / "uv"))
    env["UV_PYTHON_DOWNLOADS"] = "never"
    # uv reads neither pip.conf nor PIP_*: carry the pip index settings over.
    for pip, uv in (("PIP_INDEX_URL", "UV_INDEX_URL"), ("PIP_EXTRA_INDEX_URL", "UV_EXTRA_INDEX_URL")):
        if pip in env and uv not in env:
            env[uv] = env[pip]
    if "SSL_CERT_FILE" not in env and "UV_NATIVE_TLS" not in env:
        # The system's roots, as pip would use: UV_SYSTEM_CERTS since uv 0.13 (which warns
        # that UV_NATIVE_TLS, the older name, is deprecated).
        env.setdefault("UV_SYSTEM_CERTS", "1")
    return env


def _create(path: Path, python: str, requirements: Path | None, constraints: Path | None,
            packages: list[str]) -> None:
    if path.exists():  # a build that was killed half-way
        shutil.rmtree(path)
    uv, env = uv_bin(), uv_environ()
    _run([uv, "venv", "-q", "--relocatable", "--python", python, str(path)], env, "create the env")
    install = [uv, "pip", "install", "-q", "--python", str(path / "bin" / "python")]
    if requirements is not None:
        install += ["-r", str(requirements)]
    if constraints is not None:
        install += ["-c", str(constraints)]
    install += packages
    if requirements is not None or packages:
        cwd = requirements.parent if requirements is not None else None
        # Offline first: with the wheels in uv's cache this needs no network (0.2 s).
        offline = subprocess.run(install + ["--offline"], env=env, cwd=cwd, capture_output=True,
                                 text=True)
        if offline.returncode != 0:
            what = f"install {requirements}" if requirements is not None else "install " + " ".join(packages)
            _run(install, env, what, cwd)
    (path / MARKER).write_text(json.dumps({"requirements": str(requirements),
                                           "packages": packages, "python": python}) + "\n")


def _run(argv: list[str], env: dict[str, str], what: str, cwd: Path | None = None) -> None:
    done = subprocess.run(argv, env=env, cwd=cwd, capture_output=True, text=True)
    if done.returncode != 0:
        tail = "\n".join((done.stderr or done.stdout).strip().splitlines()[-12:])
        raise EnvError(f"could not {what} with uv:\n{tail}")


def pinned(dist: str) -> str:
    """``dist==<the version portapack's own venv has>``: the runtime package the tests ran
    against; just ``dist`` when it is not installed beside portapack."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return f"{dist}=={version(dist)}"
    except PackageNotFoundError:
        return dist
