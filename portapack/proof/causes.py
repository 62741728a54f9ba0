"""One line per failed check of ``portapack test``: its cause and the fix, never a traceback.

A failure's whole text (runtime logs, tracebacks) stays in the report and the log files; the
table's summary shows :func:`short_cause` of it. Causes a new user meets first are recognised
and answered with the fix; anything else is cut to its first line and the exception it ends in.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from portapack.proof.local import missing_module

# "ValueError: boom", "module.CustomError: boom" at the start of a line (a traceback's last
# line) or after a colon ("... failed to load: ValueError: boom").
_EXCEPTION = re.compile(r"(?:^\s*|: )(?:[A-Za-z_][\w.]*\.)?([A-Z]\w*(?:Error|Exception)): (.+)$",
                        re.MULTILINE)
_TOO_LARGE = re.compile(r"input '[^']+': (?:the file|\S+) is (?:larger than|[\d.]+ \w+, over) [^\n]*")
_PATH_ERRORS = ("FileNotFoundError", "IsADirectoryError", "NotADirectoryError")
# proof/engine.py's hint after a failed pull: "the base image [NAME ]could not be pulled; FIX"
_PULL = re.compile(r"the base image (?:(\S+) )?could not be pulled; ([^\n]+)")
_LIMIT = 300


def short_cause(error: str | None, weight_paths: Iterable[str] = ()) -> str:
    """The one line to show for a failure's ``error``; ``weight_paths`` are the spec's weights
    paths (an error naming one is a bad weight path)."""
    text = (error or "").strip()
    if not text:
        return "failed (no error message)"
    module = missing_module(text)
    if module:
        return f"'{module.split('.')[0]}' is not installed: add it to the spec's requirements"
    too_large = _TOO_LARGE.search(text)
    if too_large:
        return (f"{too_large.group(0)}: send a smaller file (or raise PORTAPACK_MAX_INPUT_BYTES "
                "in the spec's env)")
    pull = _PULL.search(text)
    if pull:  # a Docker build whose base image is not here: the hint names image and fix
        return _cut(f"{pull.group(1) or 'the base image'} could not be pulled; {pull.group(2)}")
    found = _EXCEPTION.findall(text)
    exception = f"{found[-1][0]}: {found[-1][1].strip()}" if found else ""
    if found and found[-1][0] in _PATH_ERRORS:
        for path in weight_paths:
            if path in found[-1][1]:
                return _cut(f"{exception}: check the spec's weights path {path} (a local file's "
                            "path is the file itself, a local folder's the folder)")
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    first = lines[0]
    if exception and first in exception:  # the bare message: its exception says more
        first = exception
    elif exception and exception not in first:
        first = f"{first.rstrip(':. ')}: {exception}"
    elif first.endswith(":") and len(lines) > 1:  # a heading over a log: its last line says why
        first = f"{first} {lines[-1]}"
    return _cut(first)


def has_exception(text: str | None) -> bool:
    """Whether ``text`` has a line naming an exception (``ValueError: ...``)."""
    return bool(text) and _EXCEPTION.search(text) is not None


def _cut(line: str) -> str:
    return line if len(line) <= _LIMIT else line[:_LIMIT - 3] + "..."


__all__ = ["has_exception", "short_cause"]
