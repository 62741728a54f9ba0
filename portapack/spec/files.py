"""Files on portapack's side: ``-i image=@photo.png``, examples naming files (``"@cat.png"``),
and writing file outputs (data: URIs) to local files, as Cog's CLI does.

On the wire a file is an http(s) URL or a data: URI; every artifact turns it into a local file
with the ``portapack_files`` helper it ships (``templates/_shared/portapack_files.py.j2``).
"""

from __future__ import annotations

import base64
import binascii
import mimetypes
import os
import re
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from portapack.building.render import templates_root
from portapack.errors import Problem
from portapack.spec.validation import InvalidInput

if TYPE_CHECKING:
    from portapack.spec.loader import Project
    from portapack.spec.model import Spec
    from portapack.spec.signature import PredictorInfo

HELPER_TEMPLATE = "_shared/portapack_files.py.j2"  # plain Python: no template variables
_DATA_URI = re.compile(r"data:([^,;]*)((?:;[^,;]*)*),(.*)", re.DOTALL)


def helper_path() -> Path:
    """The runtime helper's source (the reference run loads it as every artifact does)."""
    return templates_root() / HELPER_TEMPLATE


def data_uri(path: Path) -> str:
    """A local file as a data: URI, its type guessed from the suffix (as the helper does)."""
    mime = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
    return f"data:{mime};base64,{base64.b64encode(path.read_bytes()).decode('ascii')}"


def decode_data_uri(value: Any) -> tuple[bytes, str] | None:
    """``(bytes, mime)`` of a data: URI; None for anything else (or a broken one)."""
    if not isinstance(value, str) or not value.startswith("data:"):
        return None
    m = _DATA_URI.fullmatch(value)
    if not m:
        return None
    try:
        if ";base64" in m.group(2).lower():
            return base64.b64decode(m.group(3), validate=True), m.group(1)
    except (binascii.Error, ValueError):
        return None
    from urllib.parse import unquote_to_bytes

    return unquote_to_bytes(m.group(3)), m.group(1)


def is_file_ref(value: Any) -> bool:
    """``"@path"``: a local file named in a CLI input or an example."""
    return isinstance(value, str) and value.startswith("@") and len(value) > 1


def cli_file_input(name: str, text: str, cwd: Path | None = None) -> str:
    """``-i image=@photo.png`` -> a data: URI of the file; a URL or data: URI passes as is."""
    if not is_file_ref(text):
        return text
    path = (cwd or Path.cwd()) / text[1:]
    if not path.is_file():
        raise InvalidInput(f"input '{name}': no file {text[1:]} (from -i {name}={text})")
    return data_uri(path)


def file_input_error(name: str, value: Any) -> str | None:
    """What every artifact's helper says of a file input's form (an http(s):// URL or a
    data: URI), checked without downloading anything: for runs that load no model."""
    if value is None:
        return None
    if isinstance(value, list):
        return next((e for v in value if (e := file_input_error(name, v))), None)
    scheme = value.split(":", 1)[0].lower() if isinstance(value, str) and ":" in value else ""
    if scheme in ("http", "https") or (scheme == "data" and decode_data_uri(value) is not None):
        return None
    return f"input '{name}': expected an http(s):// URL or a data: URI"


# -- examples ------------------------------------------------------------------------------------
MAX_INPUT_BYTES = 100 * 1024 * 1024  # the file helper's default (PORTAPACK_MAX_INPUT_BYTES)


def input_limit(spec: Spec) -> int:
    """The file input size limit every artifact enforces: the helper's default, or the spec's
    ``env`` PORTAPACK_MAX_INPUT_BYTES (how a deployment raises it)."""
    try:
        return int(spec.env.get("PORTAPACK_MAX_INPUT_BYTES", MAX_INPUT_BYTES))
    except (AttributeError, ValueError):
        return MAX_INPUT_BYTES


def _mib(n: int) -> str:
    return f"{n / 1024 / 1024:.1f} MiB"


def example_fixtures(spec: Spec, pred: PredictorInfo) -> set[str]:
    """The files the examples name (``"@cat.png"`` of file inputs and outputs), relative to
    the spec's folder: test data, never shipped in an artifact unless ``files:`` lists them."""
    files = set(pred.file_inputs)
    refs: list[str] = []
    for example in getattr(spec, "examples", []):
        inputs = getattr(example, "input", None) or {}
        refs += [r for name, value in inputs.items() if name in files for r in _refs(value)]
        refs += _refs(getattr(example, "output", None))
    return {Path(os.path.normpath(ref[1:])).as_posix() for ref in refs}


def example_file_problems(spec: Spec, pred: PredictorInfo, root: Path,
                          where: Callable[[tuple], str]) -> list[Problem]:
    """Each ``"@file"`` an example names that does not exist (inputs of Path inputs, outputs),
    and each input file over the size limit every target would refuse it for."""
    problems = []
    files = set(pred.file_inputs)
    limit = input_limit(spec)
    for n, example in enumerate(getattr(spec, "examples", [])):
        for name, value in (getattr(example, "input", None) or {}).items():
            for ref in _refs(value) if name in files else []:
                path = root / ref[1:]
                if not path.is_file():
                    problems.append(Problem(where(("examples", n, "input", name)),
                                            f"no file {ref[1:]} (relative to the spec's folder)"))
                elif path.stat().st_size > limit:
                    problems.append(Problem(where(("examples", n, "input", name)), (
                        f"example {n + 1}: input '{name}': {ref[1:]} is "
                        f"{_mib(path.stat().st_size)}, over the {_mib(limit)} limit every target "
                        "enforces for a file input; use a smaller file (or raise "
                        "PORTAPACK_MAX_INPUT_BYTES in the spec's env)")))
        for ref in _refs(getattr(example, "output", None)):
            if not (root / ref[1:]).is_file():
                problems.append(Problem(where(("examples", n, "output")),
                                        f"no file {ref[1:]} (relative to the spec's folder)"))
    return problems


def _refs(value: Any) -> list[str]:
    if is_file_ref(value):
        return [value]
    if isinstance(value, list):
        return [r for v in value for r in _refs(v)]
    if isinstance(value, dict):
        return [r for v in value.values() for r in _refs(v)]
    return []


def _inline(value: Any, root: Path) -> Any:
    if is_file_ref(value) and (root / value[1:]).is_file():
        return data_uri(root / value[1:])
    if isinstance(value, list):
        return [_inline(v, root) for v in value]
    if isinstance(value, dict):
        return {k: _inline(v, root) for k, v in value.items()}
    return value


def with_example_files(project: Project) -> Project:
    """The project with every ``"@file"`` of its examples replaced by that file's data: URI,
    so every target gets the same bytes and outputs compare by content."""
    pred, spec = project.predictor, project.spec
    if pred is None or not spec.examples:
        return project
    files = set(pred.file_inputs)
    examples = []
    for example in spec.examples:
        inputs = {k: _inline(v, project.root) if k in files else v for k, v in example.input.items()}
        examples.append(example.model_copy(update={
            "input": inputs, "output": _inline(example.output, project.root)}))
    from dataclasses import replace

    return replace(project, spec=spec.model_copy(update={"examples": examples}))


# -- outputs -------------------------------------------------------------------------------------
def write_file_outputs(value: Any, out_dir: Path) -> tuple[Any, list[tuple[Path, int]]]:
    """Each data: URI in an output written to ``out_dir`` (never overwriting); returns the
    output with each replaced by its path, and the files written."""
    written: list[tuple[Path, int]] = []

    def walk(v: Any) -> Any:
        decoded = decode_data_uri(v)
        if decoded is not None:
            data, mime = decoded
            ext = mimetypes.guess_extension(mime) or ".bin"
            path = _free_name(out_dir, f"output{'' if not written else f'-{len(written)}'}", ext)
            out_dir.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)
            written.append((path, len(data)))
            return str(path)
        if isinstance(v, list):
            return [walk(i) for i in v]
        if isinstance(v, dict):
            return {k: walk(i) for k, i in v.items()}
        return v

    return walk(value), written


def _free_name(folder: Path, stem: str, ext: str) -> Path:
    path, n = folder / f"{stem}{ext}", 1
    while path.exists():
        path, n = folder / f"{stem}-{n}{ext}", n + 1
    return path
