"""Pieces every emitter shares: requirements, weights, the user's code entries (the Inputs
model's fields come from :mod:`portapack.spec.signature.fields`). Pure functions of the
project; targets call them from ``context()``."""

from __future__ import annotations

import os
import re
import shlex
from pathlib import Path
from typing import TYPE_CHECKING, Any

from portapack.spec.signature import PredictorInfo

if TYPE_CHECKING:
    from portapack.spec.loader import Project


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
    and where the predictor reads them (``remote``, the spec's ``path``). The rule, on every
    target and locally: for a local file, ``path`` is the file itself; for a local folder,
    ``path`` is the folder (its files inside it)."""
    prefix = f"{code_dir}/" if code_dir else ""
    out = []
    for w in project.spec.weights:
        if w.scheme != "local":
            continue
        source = Path(os.path.normpath(w.source)).as_posix()
        kind = "file" if source in project.files else "dir"
        out.append({"source": prefix + source, "path": w.path, "kind": kind, "remote": w.path})
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
    """The first example's input, for the sample commands the artifacts show (JSON bodies):
    a file it names as "@cat.png" becomes a marked placeholder, "<data: URI of cat.png>",
    since only Cog's CLI reads "@file" (runnable README forms: :mod:`.samples`)."""
    from portapack.targets.samples import wire_example

    return wire_example(project)
