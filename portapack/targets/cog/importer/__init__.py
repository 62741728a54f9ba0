"""``portapack import cog``: a Cog project (cog.yaml + a BasePredictor/BaseRunner class).

Mappings follow Cog 0.23's python SDK (cog/__init__.py, cog/input.py: Input's options are
default, description, ge, le, min_length, max_length, regex, choices, deprecated, accept) and
the cog.yaml schema (build.gpu, python_version, python_requirements / python_packages,
system_packages, run, environment, concurrency.max), both read 2026-12-01.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from portapack.errors import Problem, SpecError
from portapack.importing.base import (
    Imported,
    carry_python,
    predictor_name,
    slug,
    user_files,
    without_platform_sdk,
)
from portapack.importing.generated import built_target, unwrap
from portapack.importing.importer import Importer
from portapack.importing.requirements import Requirements, read_file, read_words
from portapack.targets.cog.importer import runner as cog_runner

if TYPE_CHECKING:
    from portapack.proof.runtimes.base import Runtime
    from portapack.spec.loader import Project

DEFAULT_GPU = "L40S"  # Replicate's general-purpose GPU SKU (gpu-l40s); cog.yaml names no type
KNOWN_BUILD = {"gpu", "python_version", "python_requirements", "python_packages",
               "system_packages", "run"}


def read_config(src: Path) -> tuple[dict[str, Any], str]:
    path = src / "cog.yaml"
    if not path.is_file():
        raise SpecError(Problem(str(src), "not a Cog project: no cog.yaml here; pass the folder "
                                "that holds cog.yaml"))
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        raise SpecError(Problem(f"cog.yaml:{mark.line + 1}" if mark else "cog.yaml",
                                f"invalid YAML: {getattr(exc, 'problem', exc)}")) from None
    if not isinstance(data, dict):
        raise SpecError(Problem("cog.yaml", "must be a mapping with 'build:' and 'run:'"))
    ref = data.get("run") or data.get("predict")
    if not isinstance(ref, str) or ":" not in ref or not ref.split(":")[0].endswith(".py"):
        raise SpecError(Problem("cog.yaml", "no 'run: \"run.py:Runner\"' (or 'predict:') entry "
                                "naming the runner; nothing to import"))
    return data, ref


def import_cog(src: Path, *, gpu: str | None = None) -> Imported:
    """Convert the Cog project in ``src``."""
    config, ref = read_config(src)
    rel, class_name = ref.split(":", 1)
    if not (src / rel).is_file():
        raise SpecError(Problem("cog.yaml", f"the runner file '{rel}' does not exist"))
    build = config.get("build") or {}
    dest = predictor_name(rel, {p.name for p in src.iterdir()})
    imported = Imported("cog", {}, dest, "")
    if dest != rel:
        imported.note(rel, f"written as {dest}: the cog target generates its own {rel}")
    spec: dict[str, Any] = {"name": slug(src.resolve().name), "predictor": f"{dest}:{class_name}"}
    skip = {"cog.yaml", rel}

    version = str(build.get("python_version", "3.11"))
    spec["python"] = ".".join(version.split(".")[:2])

    requirements, req_file = _requirements(src, build, spec, imported)
    if req_file:
        skip.add(req_file)
    if build.get("system_packages"):
        spec["system_packages"] = [str(p) for p in build["system_packages"]]
    commands = _run_commands(build.get("run") or [], imported)
    if commands:
        spec["build_commands"] = commands
    env = _environment(config.get("environment") or [], imported)
    if env:
        spec["env"] = env
    if build.get("gpu"):
        spec["resources"] = {"gpu": gpu or DEFAULT_GPU}
        if gpu:
            imported.note("cog.yaml build.gpu", f"gpu: true; GPU type {gpu} from --gpu")
        else:
            imported.note("cog.yaml build.gpu", "cog.yaml says only 'gpu: true' (the type lives "
                          f"in a Replicate deployment): using {DEFAULT_GPU}; pass --gpu to choose",
                          lost=True)
    elif gpu:
        spec["resources"] = {"gpu": gpu}
    for key in sorted(set(build) - KNOWN_BUILD):
        imported.note(f"cog.yaml build.{key}", "not carried: portapack chooses the base image, "
                      "CUDA and Cog versions per target", lost=True)
    for key in sorted(set(config) - {"build", "run", "predict", "environment", "concurrency"}):
        imported.note(f"cog.yaml {key}", "not carried (portapack has no equivalent)", lost=True)

    built = built_target(src)
    if built is not None:  # portapack's own artifact: its predictor as it is, not run.py
        runner = cog_runner.Runner("", concurrency=_concurrent_max(src / rel))
        _deployment(src, spec)
    else:
        runner = cog_runner.rewrite(src / rel, rel, class_name)
        spec["predictor"] = f"{dest}:{runner.class_name or class_name}"
        imported.predictor_source = runner.source
        imported.notes += runner.notes
    concurrency = (config.get("concurrency") or {}).get("max") or runner.concurrency
    if concurrency and int(concurrency) > 1:
        spec.setdefault("scaling", {})["concurrency"] = int(concurrency)
    if runner.secrets:
        spec["secrets"] = runner.secrets
    if runner.uses_field and not any(r.lower().startswith("pydantic") for r in requirements):
        requirements.append("pydantic>=2")
    if requirements:
        spec["requirements"] = requirements
    carry_python(spec, "cog.yaml build.python_version", requirements, imported)
    spec["examples"] = []
    imported.spec = spec
    imported.copies = user_files(src, skip)
    if built is not None:
        unwrap(src, built, imported, spec, rel)
    return imported


def _concurrent_max(path: Path) -> int | None:
    """``@concurrent(max=N)`` on the generated runner's run() (the cog target's concurrency)."""
    import ast

    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Call) and getattr(node.func, "id", getattr(node.func, "attr", "")) \
                == "concurrent":
            for kw in node.keywords:
                if kw.arg == "max" and isinstance(kw.value, ast.Constant) and isinstance(kw.value.value, int):
                    return kw.value.value
    return None


def _deployment(src: Path, spec: dict[str, Any]) -> None:
    """replicate-deployment.json (what the cog target writes beside cog.yaml): its instance
    counts are the spec's min/max replicas."""
    import json

    path = src / "replicate-deployment.json"
    try:
        data = json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}
    except ValueError:
        return
    scaling = {k: data[key] for key, k in (("min_instances", "min_replicas"),
                                             ("max_instances", "max_replicas"))
               if isinstance(data.get(key), int)}
    if scaling:
        spec.setdefault("scaling", {}).update(scaling)


def _requirements(src: Path, build: dict[str, Any], spec: dict[str, Any],
                  imported: Imported) -> tuple[list[str], str | None]:
    """python_requirements (a file, read as pip reads it) or python_packages (each entry as
    cog writes it into requirements.txt): requirements plus the index options they give."""
    if build.get("python_requirements"):
        rel = str(build["python_requirements"])
        path = src / rel
        if not path.is_file():
            raise SpecError(Problem("cog.yaml build.python_requirements", f"'{rel}' not found"))
        found, skipped = read_file(path, rel, src)
        for number, line in skipped:
            imported.note(f"{rel}:{number}", f"pip option '{line}' not carried", lost=True)
        spec.update(found.spec_fields())
        kept, dropped = without_platform_sdk(found.requirements, "cog")
        if dropped:
            imported.note(rel, f"dropped {', '.join(dropped)}: the predictor no longer imports "
                          "cog (the cog target adds it)")
        return kept, rel
    if build.get("python_packages"):
        reqs: list[str] = []
        index = Requirements()
        for n, entry in enumerate(build["python_packages"]):
            text = str(entry).strip()
            if not text.startswith("-"):
                reqs.append(text)
                continue
            words = text.split()
            options = [w for w in words if w != "--pre"]
            found = read_words(options)
            if found is None or found.requirements or not index.merge(found):
                imported.note(f"cog.yaml build.python_packages[{n}]", f"'{text}' is not carried: "
                              "an option portapack does not map", lost=True)
                continue
            if "--pre" in words:
                imported.note(f"cog.yaml build.python_packages[{n}]", "--pre is not carried: "
                              "pre-release versions are taken only where a requirement pins one",
                              lost=True)
        spec.update(index.spec_fields())
        kept, _ = without_platform_sdk(reqs, "cog")
        return kept, None
    return [], None


def _run_commands(entries: list[Any], imported: Imported) -> list[str]:
    commands = []
    for n, entry in enumerate(entries):
        where = f"cog.yaml build.run[{n}]"
        if isinstance(entry, dict):
            if entry.get("mounts"):
                imported.note(where, "its secret mounts are not carried: the command runs at "
                              "image build without them; move the download to load() with a "
                              "secret instead", lost=True)
            entry = entry.get("command", "")
        text = str(entry).strip()
        while text.startswith("--mount="):
            flag, _, text = text.partition(" ")
            text = text.lstrip()
            if "type=cache" in flag:
                imported.note(where, f"{flag}: a cache mount changes no result; dropped")
            else:
                imported.note(where, f"{flag}: not carried; the command runs without it", lost=True)
        if "\n" in text:
            imported.note(where, "a multi-line command is not carried: split it into one-line "
                          "build_commands", lost=True)
            continue
        if text:
            commands.append(text)
    return commands


def _environment(entries: list[Any] | dict[str, Any], imported: Imported) -> dict[str, str]:
    if isinstance(entries, dict):
        return {str(k): str(v) for k, v in entries.items()}
    env = {}
    for n, entry in enumerate(entries):
        key, sep, value = str(entry).partition("=")
        if not sep:
            imported.note(f"cog.yaml environment[{n}]", f"'{entry}' is not KEY=VALUE", lost=True)
            continue
        env[key.strip()] = value
    return env


def runner_ref(src: Path) -> str:
    """The ``run:``/``predict:`` reference of a Cog project (for its own server)."""
    return read_config(src)[1]


__all__ = ["import_cog", "runner_ref"]


class CogImporter(Importer):
    """Cog projects in; the original runs under Cog's own server (coglet)."""

    requirements_from_spec = True  # `cog build` pip-installs python_packages too
    tool_dirs = frozenset({".cog"})  # Cog's build output (its schema, its cache)

    def convert(self, src: Path, *, gpu: str | None = None) -> Imported:
        return import_cog(src, gpu=gpu)

    def original_runtime(self, copy: Path, env: dict[str, str]) -> Runtime:
        from portapack.targets.cog.runtime import CogRuntime

        class OriginalCogRuntime(CogRuntime):
            """The source project under Cog's server, with its own runner reference."""

            def process_env(self) -> dict[str, str]:
                return {**super().process_env(), "COG_PREDICT_TYPE_STUB": ref}

        ref = runner_ref(copy)
        return OriginalCogRuntime(copy, env=env)

    def original_env(self, project: Project) -> dict[str, str]:
        # What `cog build` would bake into the image from the runner's @concurrent.
        return {"COG_MAX_CONCURRENCY": str(project.spec.scaling.concurrency)}

    def original_inputs(self, inputs: dict[str, Any], secrets: dict[str, str]) -> dict[str, Any]:
        # Cog passed each secret as a Secret input; the import reads them from the environment.
        return {**inputs, **{name.lower(): value for name, value in secrets.items()}}
