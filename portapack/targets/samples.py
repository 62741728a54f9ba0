"""Sample commands with files in them, for the generated READMEs and comments.

An example may name a local file as ``"@cat.png"`` (relative to the spec). Only Cog's CLI
reads that form (``cog run -i image=@cat.png``); a JSON body (RunPod's jobs, Modal's and
Truss's endpoints, curl) carries a file as an http(s) URL or a data: URI. So:

- comments show a marked placeholder, ``"<data: URI of cat.png>"``;
- READMEs show a runnable shell form: ``IMAGE_URI="data:image/png;base64,$(base64 < cat.png |
  tr -d '\\n')"`` once, then ``"$IMAGE_URI"`` spliced into each single-quoted command.
"""

from __future__ import annotations

import mimetypes
import re
import shlex
from typing import TYPE_CHECKING, Any

from portapack.spec.files import is_file_ref

if TYPE_CHECKING:
    from portapack.spec.loader import Project

# A file input's value inside a README command before quoting: "@@IMAGE_URI@@" becomes
# '"$IMAGE_URI"' in the quoted shell word (no escaping touches these characters).
_TOKEN = re.compile(r"@@([A-Z_][A-Z0-9_]*_URI)@@")


def mime_of(filename: str) -> str:
    """The type a data: URI of this file declares (as the artifacts' helper guesses it)."""
    return mimetypes.guess_type(filename)[0] or "application/octet-stream"


def placeholder(filename: str) -> str:
    """Says what to send; refused with a clear message if sent as is. Short: it sits in
    one-line comments of generated code (ruff's line length)."""
    return f"<data: URI of {filename}>"


# A data: URI written into the spec (or inlined from "@file" for a test run) longer than this
# is shown as a placeholder: artifacts never carry kilobyte-long sample lines.
SHORT_URI = 100


def _example(project: Project) -> dict[str, Any]:
    """The first example's input, each file input's long data: URI as a marked placeholder."""
    first = project.spec.examples[0] if project.spec.examples else None
    example = dict(getattr(first, "input", None) or {})  # a server's examples are HTTP requests
    files = set(project.predictor.file_inputs) if project.predictor else set()
    for name, value in example.items():
        if name in files and isinstance(value, str) and value.startswith("data:") \
                and len(value) > SHORT_URI:
            example[name] = f"<data: URI, {value[5:].partition(',')[0].split(';')[0] or 'text/plain'}>"
    return example


def _file_values(project: Project) -> dict[str, str]:
    """``{input name: file}`` for each file input the first example names as "@file"."""
    pred = project.predictor
    names = set(pred.file_inputs) if pred else set()
    return {k: v[1:] for k, v in _example(project).items() if k in names and is_file_ref(v)}


def wire_example(project: Project) -> dict[str, Any]:
    """The first example's input as a JSON body can carry it: "@cat.png" -> a placeholder."""
    files = _file_values(project)
    return {k: placeholder(files[k]) if k in files else v for k, v in _example(project).items()}


def shell_word(text: str) -> str:
    """``text`` as one shell word, each "@@NAME_URI@@" in it spliced in as ``"$NAME_URI"``."""
    pieces = _TOKEN.split(text)  # text, var, text, var, ..., text
    out = []
    for n, piece in enumerate(pieces):
        if n % 2:
            out.append(f'"${piece}"')
        elif piece:
            out.append(shlex.quote(piece))
    return "".join(out) or "''"


def has_file_outputs(project: Project) -> bool:
    """The return annotation says files (Path, bytes, a PIL image, a list of them), or an
    example's expected output names one ("@file" or a sha256)."""
    pred = project.predictor
    if pred is None:
        return False
    if pred.output_kind == "path" or pred.output_item == "path":
        return True

    def names_file(value: Any) -> bool:
        if is_file_ref(value):
            return True
        if isinstance(value, dict):
            return set(value) == {"sha256"} or any(names_file(v) for v in value.values())
        return isinstance(value, list) and any(names_file(v) for v in value)

    return any(names_file(getattr(e, "output", None)) for e in project.spec.examples)


def samples_context(project: Project) -> dict[str, Any]:
    """Template variables for README samples: ``file_inputs_doc`` (names), ``file_outputs``
    (bool), ``sample_files`` (one shell assignment per file the example names),
    ``sample_input`` (the first example's input, each such file a token that
    :func:`shell_word` splices in: use it as ``shell_word(... sample_input ...)``) and
    ``example_raw`` (as written, "@cat.png": Cog's CLI reads it)."""
    pred = project.predictor
    files = _file_values(project)
    var = {k: f"{k.upper()}_URI" for k in files}
    return {
        "file_input_names": list(pred.file_inputs) if pred else [],
        "file_inputs_md": ", ".join(f"`{n}`" for n in (pred.file_inputs if pred else ())),
        "sample_files_md": ", ".join(f"`{f}`" for f in files.values()),
        "file_outputs": has_file_outputs(project),
        "sample_files": [
            {"input": k, "file": f, "var": var[k],
             "assign": f'{var[k]}="data:{mime_of(f)};base64,$(base64 < {shlex.quote(f)} | tr -d '
                       + "'\\n')\""}
            for k, f in files.items()],
        "sample_input": {k: f"@@{var[k]}@@" if k in files else v
                         for k, v in _example(project).items()},
        "example_raw": _example(project),
        "shell_word": shell_word,
    }


def served_example(project: Project, limit_bytes: int = 48 * 1024) -> dict[str, Any]:
    """The first example's input for ``portapack serve``'s sample curl, which runs on the
    machine holding the files: each "@file" up to ``limit_bytes`` as its real data: URI (one
    command-line argument holds at most 128 KiB), a larger one as the placeholder."""
    from portapack.spec.files import data_uri

    files = _file_values(project)
    example = wire_example(project)
    raw = getattr(project.spec.examples[0], "input", None) or {} if project.spec.examples else {}
    for name, value in raw.items():  # a data: URI written in the spec: runnable as it is
        if isinstance(value, str) and value.startswith("data:") and len(value) <= limit_bytes:
            example[name] = value
    for name, rel in files.items():
        path = project.root / rel
        if path.is_file() and path.stat().st_size <= limit_bytes:
            example[name] = data_uri(path)
    return example
