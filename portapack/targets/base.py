"""The base class every platform target subclasses, and the pieces they share.

A target is data plus one pure mapping: ``context(project)`` turns the project into a flat
dict of template variables; the templates under ``templates/<name>/`` write the files.
What a platform cannot express is declared in ``unsupported`` (feature -> reason) and
collected by one generic check, never by ``if target == ...`` in the core.
"""

from __future__ import annotations

import enum
import os
import re
import shlex
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

from ..errors import BuildError
from ..gpu import CANONICAL, GpuRequest
from ..loader import Project
from ..render import py_literal, render
from ..signature import REQUIRED, InputSpec, PredictorInfo


class Feature(enum.Enum):
    """Spec features a target may be unable to express."""

    GPU = "resources.gpu"
    MULTI_GPU = "resources.gpu count"
    CPU = "resources.cpu"
    MEMORY = "resources.memory"
    MIN_REPLICAS = "scaling.min_replicas"
    MAX_REPLICAS = "scaling.max_replicas"
    IDLE_TIMEOUT = "scaling.idle_timeout"
    CONCURRENCY = "scaling.concurrency"
    TIMEOUT = "scaling.timeout"
    SECRETS = "secrets"
    DICT_INPUT = "dict inputs"
    WEIGHTS_S3 = "weights from s3://"
    WEIGHTS_GS = "weights from gs://"


@dataclass(frozen=True)
class Note:
    """Something a target approximated or left out."""

    target: str
    feature: str
    message: str

    def __str__(self) -> str:
        return f"{self.feature}: {self.message}"


@dataclass(frozen=True)
class GpuMapping:
    """How one canonical GPU is named on a platform; ``exact`` False means a nearest match."""

    name: str
    exact: bool = True


def requested_features(project: Project) -> set[Feature]:
    """The features this spec actually asks for (fields the user set, inputs it declares)."""
    spec = project.spec
    used: set[Feature] = set()
    if spec.resources.gpu:
        used.add(Feature.GPU)
        if spec.resources.gpu.count > 1:
            used.add(Feature.MULTI_GPU)
    set_fields = spec.resources.model_fields_set | spec.scaling.model_fields_set
    for feature in Feature:
        section, _, field = feature.value.partition(".")
        if section in ("resources", "scaling") and field in set_fields and feature is not Feature.GPU:
            used.add(feature)
    if spec.secrets:
        used.add(Feature.SECRETS)
    if any(i.kind == "dict" for i in project.predictor.inputs):
        used.add(Feature.DICT_INPUT)
    schemes = {w.scheme for w in spec.weights}
    used |= {f for s, f in (("s3", Feature.WEIGHTS_S3), ("gs", Feature.WEIGHTS_GS)) if s in schemes}
    return used


class Target:
    """A platform. Subclasses set the class attributes and implement :meth:`context`."""

    name: ClassVar[str]
    title: ClassVar[str]
    extra: ClassVar[str]  # pip extra holding the platform SDK: portapack[<extra>]
    templates: ClassVar[dict[str, str]]  # output path -> template path (under templates/)
    code_dir: ClassVar[str] = ""  # where the user's files go inside the artifact
    gpu_names: ClassVar[dict[str, GpuMapping]]
    unsupported: ClassVar[dict[Feature, str]] = {}
    # Whether the platform's image config can hold env values with newlines (Dockerfile ENV
    # lines cannot); if not, the generated code sets those at start-up.
    env_newlines: ClassVar[bool] = False

    # -- the mapping --------------------------------------------------------------------------
    def context(self, project: Project) -> dict[str, Any]:
        """Project -> flat dict of template variables. Pure: no I/O."""
        raise NotImplementedError

    def extra_notes(self, project: Project) -> list[Note]:
        """Target-specific approximations beyond the ``unsupported`` table."""
        return []

    def validate(self, project: Project) -> list[str]:
        """Problems that make this spec impossible on this platform (not approximations):
        each names the field and the fix. ``build`` refuses the target when any is found."""
        return []

    # -- shared behaviour ---------------------------------------------------------------------
    def notes(self, project: Project) -> list[Note]:
        found = [Note(self.name, f.value, reason) for f, reason in self.unsupported.items()
                 if f in requested_features(project)]
        gpu = project.spec.resources.gpu
        if gpu and Feature.GPU not in self.unsupported:
            mapped = self.gpu_names[gpu.type]
            if not mapped.exact:
                found.append(Note(self.name, "resources.gpu",
                                  f"{self.title} has no {gpu.type}; using the nearest, {mapped.name}"))
        moved = sorted(self.runtime_env(project))
        if moved:
            found.append(Note(self.name, "env", f"{', '.join(moved)} holds a newline, which "
                              f"{self.title}'s image config cannot; the generated code sets it "
                              "at start-up instead"))
        return found + self.extra_notes(project)

    def build_time_weights_note(self, project: Project) -> list[Note]:
        """hf:// weights fetched at image build run without the spec's secrets (no HF_TOKEN)."""
        spec = project.spec
        if "HF_TOKEN" in spec.secrets and any(w.scheme == "hf" for w in spec.weights):
            return [Note(self.name, "weights", "hf:// weights are downloaded at image build, where "
                         "secrets are not available: a gated repo needs a token at build time, "
                         "or a download in load()")]
        return []

    def runtime_env(self, project: Project) -> dict[str, str]:
        """Env values the generated code sets itself (before the user's module is imported)."""
        if self.env_newlines:
            return {}
        return {k: v for k, v in project.spec.env.items() if "\n" in v or "\r" in v}

    def image_env(self, project: Project) -> dict[str, str]:
        """Env values the platform's image config carries."""
        moved = self.runtime_env(project)
        return {k: v for k, v in project.spec.env.items() if k not in moved}

    def gpu_name(self, gpu: GpuRequest | None) -> str | None:
        return None if gpu is None else self.gpu_names[gpu.type].name

    def base_context(self, project: Project) -> dict[str, Any]:
        """Variables every target's templates may use."""
        spec, pred = project.spec, project.predictor
        return {
            "spec": spec,
            "name": spec.name,
            "predictor": pred,
            "user_module": pred.module,
            "user_class": pred.class_name,
            "inputs": pred.inputs,
            "streaming": pred.streaming,
            "requirements": list(project.requirements),
            "fields": pydantic_fields(pred),
            "call_args": ", ".join(f"{i.name}={i.name}" for i in pred.inputs),
            "examples": [e.model_dump() for e in spec.examples],
            "code_dir": self.code_dir,
            "runtime_env": self.runtime_env(project),
            # Local weights: (source relative to the user's project root, where they belong).
            "weight_links": [[w["source"], w["remote"]] for w in local_weights(project)],
            "root_depth": spec.predictor_file.count("/"),
        }

    def write(self, project: Project, dest: Path) -> list[str]:
        """Copy the user's files and render the templates into ``dest``; return written paths."""
        context = self.context(project)
        written: list[str] = []
        generated = set(self.templates)
        for rel in project.files:
            target_rel = f"{self.code_dir}/{rel}" if self.code_dir else rel
            if target_rel in generated:
                raise BuildError(f"{rel}: clashes with the file portapack generates for "
                                 f"{self.name}; rename it or leave it out of 'files'")
            out = dest / target_rel
            out.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(project.root / rel, out)
            written.append(target_rel)
        for rel, template in self.templates.items():
            out = dest / rel
            out.parent.mkdir(parents=True, exist_ok=True)
            out.write_text(render(template, context), encoding="utf-8")
            written.append(rel)
        return sorted(written)


def pydantic_fields(pred: PredictorInfo) -> list[dict[str, str]]:
    """Each input as a pydantic field: ``name: <annotation> = Field(...)`` parts."""
    return [{"name": i.name, "annotation": _annotation(i), "field": _field(i)} for i in pred.inputs]


def _annotation(i: InputSpec) -> str:
    if i.choices is not None:
        base = f"Literal[{', '.join(py_literal(c) for c in i.choices)}]"
    elif i.kind == "list":
        base = f"list[{i.item}]"
    elif i.kind == "dict":
        base = "dict[str, Any]"
    else:
        base = i.kind
    return f"{base} | None" if i.optional else base


def _field(i: InputSpec) -> str:
    """``= Field(...)`` with constraints, ``= default`` without; empty for a bare required input."""
    extra = [f"{k}={py_literal(v)}" for k, v in i.constraints.items()]
    if i.description:
        extra.append(f"description={py_literal(i.description)}")
    if not extra:
        return "" if i.required else f" = {py_literal(i.default)}"
    first = "..." if i.required else py_literal(i.default)
    return f" = Field({', '.join([first, *extra])})"


def typing_names(pred: PredictorInfo, *extra: str) -> str:
    """The ``typing`` names the generated code's annotations use, comma-separated."""
    names = set(extra)
    if any(i.kind == "dict" for i in pred.inputs):
        names.add("Any")
    if any(i.choices is not None for i in pred.inputs):
        names.add("Literal")
    return ", ".join(sorted(names))


def with_requirements(project: Project, *needed: str) -> list[str]:
    """The user's requirements plus ``needed`` ones whose project the user did not list."""
    def key(req: str) -> str:
        return re.split(r"[\s\[<>=!~;@]", req, maxsplit=1)[0].lower().replace("_", "-")

    listed = {key(r) for r in project.requirements}
    return list(project.requirements) + [r for r in needed if key(r) not in listed]


def weight_fetch_commands(project: Project) -> list[str]:
    """Shell commands that fetch hf:// and http(s):// weights at image build time."""
    commands = []
    for w in project.spec.weights:
        if w.scheme == "hf":
            repo, rev = w.hf_repo
            revision = f" --revision {shlex.quote(rev)}" if rev else ""
            commands.append(f"hf download {shlex.quote(repo)}{revision} --local-dir {shlex.quote(w.path)}")
        elif w.scheme == "https":
            filename = w.source.rstrip("/").rsplit("/", 1)[-1].split("?")[0] or "download"
            dest = f"{w.path}/{filename}"
            commands.append(
                f"mkdir -p {shlex.quote(w.path)} && python -c "
                + shlex.quote("import sys, urllib.request; urllib.request.urlretrieve(*sys.argv[1:])")
                + f" {shlex.quote(w.source)} {shlex.quote(dest)}"
            )
    return commands


def hf_requirement(project: Project) -> list[str]:
    """huggingface_hub (with its `hf` CLI) when an hf:// weight must be downloaded."""
    return ["huggingface_hub>=0.34"] if any(w.scheme == "hf" for w in project.spec.weights) else []


def local_weights(project: Project, code_dir: str = "") -> list[dict[str, str]]:
    """Local weight sources: where they sit in the artifact (``source``, a ``file`` or ``dir``)
    and where the predictor expects them (``path``, a folder; a single file lands inside it)."""
    prefix = f"{code_dir}/" if code_dir else ""
    out = []
    for w in project.spec.weights:
        if w.scheme != "local":
            continue
        source = Path(os.path.normpath(w.source)).as_posix()
        kind = "file" if source in project.files else "dir"
        remote = f"{w.path}/{Path(source).name}" if kind == "file" else w.path
        out.append({"source": prefix + source, "path": w.path, "kind": kind, "remote": remote})
    return out


def code_entries(project: Project) -> dict[str, str]:
    """Top-level entries of the user's code ("file" or "dir"), local weights left out: they
    travel separately, to their own path."""
    weights = [w["source"] for w in local_weights(project)]
    entries: dict[str, str] = {}
    for rel in project.files:
        if any(rel == w or rel.startswith(w.rstrip("/") + "/") for w in weights):
            continue
        top, sep, _ = rel.partition("/")
        entries[top] = "dir" if sep else "file"
    return entries


def example_input(project: Project) -> dict[str, Any]:
    """The first example's input, for the sample commands the artifacts show."""
    return project.spec.examples[0].input if project.spec.examples else {}


def gpu_table(targets: list[Target]) -> list[dict[str, str]]:
    """Rows for ``portapack targets``: canonical name -> each platform's name (~ = nearest)."""
    rows = []
    for canonical, memory in CANONICAL.items():
        row = {"gpu": canonical, "memory_gb": str(memory)}
        for t in targets:
            mapped = t.gpu_names.get(canonical)
            row[t.name] = "-" if mapped is None else (mapped.name if mapped.exact else f"~{mapped.name}")
        rows.append(row)
    return rows


__all__ = ["Feature", "GpuMapping", "Note", "Target", "REQUIRED", "gpu_table", "pydantic_fields"]
