"""``portapack import``: turn a Cog, Truss or RunPod project into a portapack project.

Each source platform has one module that only reads (:mod:`.cog`, :mod:`.truss`,
:mod:`.runpod`) and returns an :class:`~.base.Imported`; :func:`import_project` writes it
atomically and validates it. Nothing here imports or runs the user's code.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from portapack.errors import Problem, SpecError
from portapack.importing.base import Imported, ImportResult, Note, drop_generated, write_project

PLATFORMS = ("cog", "truss", "runpod")


def _importer(platform: str) -> Callable[..., Imported]:
    if platform == "cog":
        from portapack.importing.cog import import_cog
        return import_cog
    if platform == "truss":
        from portapack.importing.truss import import_truss
        return import_truss
    if platform == "runpod":
        from portapack.importing.runpod import import_runpod
        return import_runpod
    raise SpecError(Problem("", f"unknown platform '{platform}'; use one of {', '.join(PLATFORMS)}"))


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
    imported = _importer(platform)(src, gpu=gpu)
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


__all__ = ["PLATFORMS", "Imported", "ImportResult", "Note", "convert", "import_project"]
