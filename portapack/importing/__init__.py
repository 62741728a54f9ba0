"""``portapack import``: turn another platform's project into a portapack project.

Each target that can read its platform's projects names an :class:`~.importer.Importer`
(``Target.importer``, in ``portapack/targets/<name>/importer/``) that only reads and returns an
:class:`~.base.Imported`; :func:`import_project` writes it atomically and validates it. Nothing
here imports or runs the user's code, and nothing here knows a platform.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from portapack.errors import PortapackError, Problem, SpecError
from portapack.importing.base import Imported, ImportResult, Note, drop_generated, write_project
from portapack.importing.importer import Importer


def platforms() -> list[str]:
    """The targets whose platform's projects can be imported, in registry order."""
    from portapack.targets import TARGETS

    return [name for name, cls in TARGETS.items() if cls.importer is not None]


def importer_for(platform: str) -> Importer:
    """The importer of ``platform`` (a target name or alias, any case)."""
    from portapack.targets import canonical_name, get_target

    try:
        name = canonical_name(platform.lower())
    except PortapackError:
        name = None
    if name not in platforms():
        raise SpecError(Problem("", f"cannot import from '{platform}'; use one of {', '.join(platforms())}"))
    return get_target(name).importer_class()()


def convert(platform: str, src: str | Path, *, gpu: str | None = None,
            examples: list[dict[str, Any]] | None = None) -> Imported:
    """Read the ``platform`` project in ``src`` into an :class:`Imported` (nothing written)."""
    src = Path(src)
    try:
        import libcst  # noqa: F401 (the rewriter's one dependency beyond portapack's own)
    except ImportError:
        raise SpecError(Problem("", "portapack import needs libcst: pip install libcst")) from None
    if not src.is_dir():
        raise SpecError(Problem(str(src), "not a folder; pass the project's folder"))
    if gpu is not None:
        from portapack.spec.gpu import parse_gpu
        try:
            gpu = str(parse_gpu(gpu))
        except ValueError as exc:
            raise SpecError(Problem("--gpu", str(exc))) from None
    imported = importer_for(platform).convert(src, gpu=gpu)
    drop_generated(imported)
    server = imported.spec.get("server")
    if examples and server:  # a server's example is an HTTP request: the JSON body of routes[0]
        imported.spec["examples"] = [{"route": server["routes"][0], "body": e} for e in examples]
    elif examples:
        imported.spec["examples"] = [{"input": e} for e in examples]
    if not imported.spec.get("examples"):
        imported.spec.pop("examples", None)
        imported.note("examples", "the source project has no example request: add some under "
                      "'examples:' (or pass --example) so 'portapack test' can compare targets")
    return imported


def import_project(platform: str, src: str | Path, out: str | Path, *, strict: bool = False,
                   gpu: str | None = None, examples: list[dict[str, Any]] | None = None) -> ImportResult:
    """Convert ``src`` and write a validated portapack project to ``out`` (never overwriting)."""
    from portapack.importing.base import check_out

    check_out(Path(out))  # before any parsing: a clash is the cheapest error to report
    return write_project(convert(platform, src, gpu=gpu, examples=examples), Path(out), strict=strict)


__all__ = ["Imported", "ImportResult", "Importer", "Note", "convert", "import_project", "importer_for",
           "platforms"]
