"""Build targets atomically: render into a temp dir inside the output dir, then move into place.

A build never touches anything outside its output dir and refuses to replace a directory
that it did not create (one without the marker file).
"""

from __future__ import annotations

import hashlib
import json
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from portapack import __version__
from portapack.errors import BuildError, Problem, SpecError
from portapack.spec.loader import Project, load_project
from portapack.targets import Note, means_all, resolve_targets

MARKER = ".portapack-build.json"


@dataclass(frozen=True)
class TargetBuild:
    """One written artifact."""

    target: str
    path: Path
    files: list[str]
    notes: list[Note] = field(default_factory=list)


@dataclass(frozen=True)
class Refused:
    """A target that cannot carry this spec (``--target all`` skips it): why, each reason."""

    target: str
    reasons: list[str]

    def __str__(self) -> str:
        return f"{self.target}: {'; '.join(self.reasons)}"


@dataclass(frozen=True)
class BuildResult:
    out: Path
    builds: list[TargetBuild]
    refused: list[Refused] = field(default_factory=list)  # only with "all"

    @property
    def notes(self) -> list[Note]:
        return [n for b in self.builds for n in b.notes]

    def __getitem__(self, target: str) -> TargetBuild:
        return next(b for b in self.builds if b.target == target)


def project_digest(project: Project) -> str:
    """A digest of everything a build depends on: spec, shipped files, portapack's version."""
    h = hashlib.sha256(__version__.encode())
    h.update(project.spec_path.read_bytes())
    if project.overrides:  # Project.with_options(): not in the file, but built all the same
        h.update(json.dumps(project.overrides, sort_keys=True, default=str).encode())
    h.update("\n".join(project.requirements).encode())  # also when they come from a file
    for rel in project.files:
        h.update(rel.encode() + b"\0" + (project.root / rel).read_bytes())
    return h.hexdigest()


def build(
    spec: str | Path | Project | None = None,
    targets: str | list[str] | tuple[str, ...] = "all",
    out: str | Path = "build",
    *,
    strict: bool = False,
) -> BuildResult:
    """Build ``targets`` ("all", a name, or a list) from the spec into ``out/<target>/``.

    "all" means every target that can carry this spec: one that refuses it is left out and
    listed in ``BuildResult.refused`` with its reasons (a target named on purpose that
    refuses raises :class:`SpecError`, as does "all" when every target refuses).

    ``spec`` is a portapack.yaml path, its folder, or an already loaded :class:`Project`.
    With ``strict``, anything a target would approximate or leave out is an error.
    """
    out = Path(out).resolve()
    if out.exists() and not out.is_dir():
        raise BuildError(f"{out} is a file; choose another --out")
    project = spec if isinstance(spec, Project) else load_project(spec, exclude=(out,))
    chosen = [t.for_project(project) for t in resolve_targets(targets)]  # server: mode or not
    reasons = {t.name: t.validate(project) for t in chosen}
    every = means_all(targets)
    refused = [Refused(name, list(r)) for name, r in reasons.items() if r]
    if refused and (not every or len(refused) == len(chosen)):
        # A target named on purpose that cannot carry the spec (or none that can): an error,
        # nothing is written. With "all", the targets that can are built, the others listed.
        raise SpecError([Problem(f"target {r.target}", m) for r in refused for m in r.reasons])
    chosen = [t for t in chosen if not reasons[t.name]]
    notes = {t.name: t.notes(project) for t in chosen}
    if strict and any(notes.values()):
        lines = [f"  {name}: {n}" for name, ns in notes.items() for n in ns]
        raise BuildError("--strict: these would be approximated or left out:\n" + "\n".join(lines))
    for t in chosen:
        existing = out / t.name
        if existing.exists() and not (existing / MARKER).is_file():
            raise BuildError(f"{existing} exists and was not written by portapack; "
                             "move it away or choose another --out")
    created = [p for p in [out, *out.parents] if not p.exists()]  # removed again on failure
    out.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".portapack-tmp-", dir=out))
    try:
        digest = project_digest(project)
        builds = []
        for t in chosen:
            dest = staging / t.name
            dest.mkdir()
            files = t.write(project, dest)
            marker = {"portapack": __version__, "target": t.name, "name": project.spec.name,
                      "spec": str(project.spec_path), "digest": digest, "files": files}
            if project.spec.server is not None:
                marker["mode"] = "server"  # get_runtime picks the target's server runtime
            (dest / MARKER).write_text(json.dumps(marker, indent=2) + "\n", encoding="utf-8")
            builds.append(TargetBuild(t.name, out / t.name, files, notes[t.name]))
        for t in chosen:  # everything rendered: swap the new trees in
            final = out / t.name
            if final.exists():
                final.rename(staging / f"{t.name}.old")
            (staging / t.name).rename(final)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        for folder in created:  # deepest first
            if folder.is_dir() and not any(folder.iterdir()):
                folder.rmdir()
        raise
    shutil.rmtree(staging, ignore_errors=True)
    return BuildResult(out, builds, refused)


def read_marker(path: Path) -> dict | None:
    """The marker of a built target dir, or None when it is not a portapack build."""
    try:
        return json.loads((path / MARKER).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
