"""A RunPod worker's Dockerfile, read into spec fields (``portapack import runpod``).

Nothing is built or run: the instructions are read as text, one logical line at a time.
``FROM python:3.x`` -> ``python`` (any other image -> ``targets.runpod.base_image``), ``ENV``
-> ``env``, ``RUN pip install`` (and ``-r`` files) -> ``requirements``, ``RUN apt-get install``
-> ``system_packages``, any other ``RUN`` -> ``build_commands``; what has no equivalent (ARG,
ENTRYPOINT, USER, ...) is noted as lost. Without a Dockerfile, requirements.txt alone.
"""

from __future__ import annotations

import re
import shlex
from pathlib import Path
from typing import Any

from portapack.importing.base import Imported, without_platform_sdk
from portapack.spec.model import PYTHON_VERSIONS


def _logical_lines(text: str) -> list[str]:
    lines, current = [], ""
    for raw in text.splitlines():
        if raw.strip().startswith("#") and not current:
            continue
        current += raw.rstrip()
        if current.endswith("\\"):
            current = current[:-1] + " "
            continue
        if current.strip():
            lines.append(current.strip())
        current = ""
    return lines


def read_dockerfile(src: Path, spec: dict[str, Any], imported: Imported) -> list[str]:
    """Fill ``spec`` from the worker's Dockerfile; return the requirements it installs (the
    runpod SDK left out). Without a Dockerfile, requirements.txt alone."""
    path = src / "Dockerfile"
    requirements: list[str] = []
    if not path.is_file():
        imported.note("Dockerfile", "none found: dependencies come from requirements.txt only")
        if (src / "requirements.txt").is_file():
            requirements = _req_file(src, "requirements.txt", imported)
        return _without_runpod(requirements, imported)
    env: dict[str, str] = {}
    system: list[str] = []
    commands: list[str] = []
    for line in _logical_lines(path.read_text(encoding="utf-8")):
        op, _, rest = line.partition(" ")
        op = op.upper()
        if op == "FROM":
            image = rest.split()[0]
            m = re.match(r"(?:docker\.io/)?(?:library/)?python:(\d\.\d+)", image)
            if m and m.group(1) in PYTHON_VERSIONS:
                spec["python"] = m.group(1)
            else:
                spec.setdefault("targets", {})["runpod"] = {"base_image": image}
                imported.note("Dockerfile FROM", f"{image} became targets.runpod.base_image; the "
                              "other targets use their own base images", lost=True)
        elif op == "ENV":
            env.update(_env(rest))
        elif op == "RUN":
            for part in re.split(r"\s*(?:&&|;)\s*", rest):
                _run_part(part, src, requirements, system, commands, spec, imported)
        elif op in ("ARG", "ENTRYPOINT", "USER", "VOLUME", "HEALTHCHECK", "SHELL"):
            imported.note(f"Dockerfile {op}", f"'{line}' is not carried", lost=True)
    if env:
        spec["env"] = env
    if system:
        spec["system_packages"] = system
    if commands:
        spec["build_commands"] = commands
    return _without_runpod(requirements, imported)


def _run_part(part: str, src: Path, requirements: list[str], system: list[str], commands: list[str],
              spec: dict[str, Any], imported: Imported) -> None:
    words = shlex.split(part) if part else []
    if not words:
        return
    version = re.match(r"python(3\.\d+)$", words[0])
    if version and version.group(1) in PYTHON_VERSIONS and "python" not in spec:
        spec["python"] = version.group(1)
    if "pip" in words and "install" in words:
        args = words[words.index("install") + 1:]
        n = 0
        while n < len(args):
            arg = args[n]
            if arg in ("-r", "--requirement") and n + 1 < len(args):
                requirements += _req_file(src, args[n + 1].lstrip("/"), imported)
                n += 2
                continue
            if not arg.startswith("-"):
                requirements.append(arg)
            n += 1
    elif words[:2] in (["apt-get", "install"], ["apt", "install"]):
        system += [w for w in words[2:] if not w.startswith("-")]
    elif words[:2] in (["apt-get", "update"], ["apt", "update"], ["apt-get", "clean"]) or (
            words[:2] == ["rm", "-rf"] and all(w.startswith("/var/lib/apt") for w in words[2:])):
        return
    else:
        commands.append(part)
        imported.note("Dockerfile RUN", f"'{part}' became a build command on every target")


def _req_file(src: Path, rel: str, imported: Imported) -> list[str]:
    path = src / rel
    if not path.is_file():
        imported.note("Dockerfile", f"requirements file {rel} not found beside the Dockerfile", lost=True)
        return []
    reqs = []
    for line in path.read_text(encoding="utf-8").splitlines():
        line = line.split(" #")[0].strip()
        if line.startswith("-"):
            imported.note(rel, f"pip option '{line}' not carried", lost=True)
        elif line and not line.startswith("#"):
            reqs.append(line)
    return reqs


def _without_runpod(requirements: list[str], imported: Imported) -> list[str]:
    kept, dropped = without_platform_sdk(requirements, "runpod")
    if dropped:
        imported.note("requirements", f"dropped {', '.join(dropped)} (the runpod target adds it)")
    return kept


def _env(rest: str) -> dict[str, str]:
    words = shlex.split(rest)
    if words and "=" not in words[0]:  # legacy `ENV KEY value with spaces`
        return {words[0]: " ".join(words[1:])}
    return dict(w.split("=", 1) for w in words if "=" in w)


__all__ = ["read_dockerfile"]
