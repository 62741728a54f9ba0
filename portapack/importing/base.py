"""What every importer produces, and the one place that writes it.

An importer only reads: it parses the source project (YAML, Dockerfile, Python with ``ast``
and ``libcst``) and returns an :class:`Imported`. :func:`write_project` then writes the new
portapack project into a temporary folder beside ``--out``, validates it exactly as
``portapack validate`` does, and renames it into place, so a failed import leaves nothing.
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import yaml

from portapack.errors import BuildError, Problem, SpecError
from portapack.spec.loader import SPEC_FILENAME, Project, load_project

# Folders never copied from a source project: VCS, caches, virtualenvs, build output.
SKIP_DIRS = frozenset({".git", ".hg", "__pycache__", ".venv", "venv", "node_modules",
                       ".mypy_cache", ".pytest_cache", ".ruff_cache", "build", "dist"})




@cache
def generated_names() -> frozenset[str]:
    """Files some target writes beside the user's code (its templates' top-level outputs, in
    predictor and server mode; a README is the user's to keep): a user file of that name
    would clash."""
    from portapack.targets import TARGETS

    names: set[str] = set()
    for cls in TARGETS.values():
        outputs = set(cls.templates)
        if cls.server_mode:
            outputs |= set(cls.resolve_ref(cls.server_mode).templates)
        names |= {o for o in outputs if "/" not in o and o != "README.md"}
    return frozenset(names)


@dataclass(frozen=True)
class Note:
    """One thing the import changed (``lost=False``) or could not carry (``lost=True``)."""

    where: str  # "cog.yaml build.cuda", "predict.py:12"
    message: str
    lost: bool = False

    def __str__(self) -> str:
        return f"{self.where}: {self.message}"


@dataclass
class Imported:
    """A converted project, not yet written."""

    platform: str
    spec: dict[str, Any]
    predictor_file: str  # relative path of the rewritten predictor
    predictor_source: str
    copies: dict[str, Path] = field(default_factory=dict)  # destination -> source file
    texts: dict[str, str] = field(default_factory=dict)  # destination -> generated text
    notes: list[Note] = field(default_factory=list)

    def note(self, where: str, message: str, *, lost: bool = False) -> None:
        self.notes.append(Note(where, message, lost))

    @property
    def lost(self) -> list[Note]:
        return [n for n in self.notes if n.lost]


@dataclass(frozen=True)
class ImportResult:
    """A written and validated project."""

    imported: Imported
    out: Path
    project: Project


def predictor_name(rel: str, taken: set[str]) -> str:
    """Where the rewritten predictor goes: its own name unless a target generates that file."""
    if rel not in generated_names():
        return rel
    for name in ("predict.py", "predictor.py", "model_predictor.py"):
        if name not in taken:
            return name
    return "portapack_predictor.py"


def drop_generated(imported: Imported) -> None:
    """Leave out copied files a target would overwrite, saying so."""
    for rel in sorted(imported.copies):
        if rel in generated_names():
            del imported.copies[rel]
            imported.note(rel, "not copied: a portapack target generates a file of this name; "
                          "rename it (and what refers to it) if the model needs it", lost=True)


def user_files(src: Path, skip: set[str]) -> dict[str, Path]:
    """The source project's files worth carrying: everything but ``skip`` (relative POSIX
    paths), hidden files, caches and virtualenvs."""
    found: dict[str, Path] = {}
    for dirpath, dirnames, filenames in os.walk(src):
        here = Path(dirpath)
        dirnames[:] = sorted(d for d in dirnames if d not in SKIP_DIRS and not d.startswith(".")
                             and not (here / d / "pyvenv.cfg").exists())
        for name in sorted(filenames):
            path = here / name
            rel = path.relative_to(src).as_posix()
            if name.startswith(".") or name.endswith(".pyc") or rel in skip or path.is_symlink():
                continue
            found[rel] = path
    return found


def slug(text: str) -> str:
    """A valid portapack ``name:`` from a folder or model name."""
    value = re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:63].strip("-")
    return value or "imported-model"


def env_name(text: str) -> str:
    """A secret or variable name as an environment variable: ``hf-token`` -> ``HF_TOKEN``."""
    value = re.sub(r"[^A-Za-z0-9_]", "_", text).upper()
    return value if re.match(r"[A-Z_]", value) else f"_{value}"


def without_platform_sdk(requirements: list[str], *packages: str) -> tuple[list[str], list[str]]:
    """Drop the source platform's own SDK from pip requirements; portapack adds what each
    target needs. Returns (kept, dropped)."""
    kept, dropped = [], []
    for req in requirements:
        name = re.split(r"[\s<>=!~\[;@]", req.strip(), maxsplit=1)[0].lower().replace("_", "-")
        (dropped if name in packages else kept).append(req)
    return kept, dropped


# The oldest Python every target accepts (one refuses 3.10): an older source is raised
# to it, never to the "nearest" version by arithmetic.
OLDEST_PYTHON = "3.11"


def carry_python(spec: dict[str, Any], where: str, requirements: list[str], imported: Imported) -> None:
    """Set ``spec["python"]`` to a version every target builds: an older one (or one portapack
    does not know) becomes :data:`OLDEST_PYTHON`, a newer one the newest known, with a note that
    names the pinned requirements that may have no wheels there."""
    from portapack.spec.model import PYTHON_VERSIONS

    version = str(spec.get("python") or OLDEST_PYTHON)
    try:
        numbers = tuple(int(p) for p in version.split(".")[:2])
    except ValueError:
        numbers = ()
    usable = [v for v in PYTHON_VERSIONS if tuple(map(int, v.split("."))) >= (3, 11)]
    if version in usable:
        spec["python"] = version
        return
    new = usable[-1] if numbers and numbers > tuple(map(int, usable[-1].split("."))) else OLDEST_PYTHON
    pins = [r for r in requirements if re.search(r"==|<|~=", r)]
    imported.note(where, f"Python {version} became {new}, the oldest every target accepts"
                  if new == OLDEST_PYTHON else f"Python {version} became {new}, the newest portapack "
                  "builds" + "", lost=True)
    if pins:
        imported.note(where, f"pinned for Python {version}, these may not install on {new}: "
                      + ", ".join(pins[:12]) + (" ..." if len(pins) > 12 else ""), lost=True)
    spec["python"] = new


def check_out(out: Path) -> None:
    """Refuse an ``--out`` that exists and is not an empty folder: import never overwrites."""
    if out.is_file() or out.is_symlink():
        raise BuildError(f"{out} is a file; pass --out with a new folder")
    if out.is_dir() and any(out.iterdir()):
        raise BuildError(f"{out} already exists and is not empty; import never overwrites "
                         "anything: pass --out with a new folder")


def spec_yaml(imported: Imported) -> str:
    header = (f"# portapack.yaml: imported from a {imported.platform} project by "
              f"'portapack import {imported.platform}'.\n")
    from portapack.spec.model import Spec

    order = list(Spec.model_fields)
    spec = dict(sorted(imported.spec.items(), key=lambda kv: order.index(kv[0])))
    return header + yaml.safe_dump(spec, sort_keys=False, allow_unicode=True, width=100)


def write_project(imported: Imported, out: Path, *, strict: bool = False) -> ImportResult:
    """Write ``imported`` to ``out`` atomically, then validate it like ``portapack validate``."""
    out = Path(out)
    check_out(out)
    if strict and imported.lost:
        raise BuildError("--strict: the import would lose:\n" + "\n".join(
            f"  {n}" for n in imported.lost))
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.import-", dir=out.parent))
    umask = os.umask(0)
    os.umask(umask)
    tmp.chmod(0o777 & ~umask)  # mkdtemp's 0700 would outlive the rename
    try:
        files = dict(imported.texts)
        if imported.predictor_file:  # a server: project has none
            files[imported.predictor_file] = imported.predictor_source
        files[SPEC_FILENAME] = spec_yaml(imported)
        for rel, text in files.items():
            (tmp / rel).parent.mkdir(parents=True, exist_ok=True)
            (tmp / rel).write_text(text, encoding="utf-8")
        for rel, source in imported.copies.items():
            if rel in files:
                continue
            (tmp / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, tmp / rel)
        try:
            load_project(tmp)
        except SpecError as exc:
            raise SpecError([Problem(f"imported {p.where}".strip(), p.message)
                             for p in exc.problems]) from None
        if out.is_dir():
            out.rmdir()  # empty, checked above
        os.replace(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return ImportResult(imported, out, load_project(out))
