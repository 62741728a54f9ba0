"""The jinja2 environment: StrictUndefined, kept trailing newlines, one escaping filter per
output language (Python, YAML, JSON, shell, Dockerfile)."""

from __future__ import annotations

import json
import os
import re
import shlex
import unicodedata
from functools import cache
from pathlib import Path
from typing import Any


def templates_root() -> Path:
    """Templates ship inside the wheel as portapack/templates; in a checkout they sit at the top."""
    package = Path(__file__).resolve().parent.parent
    packaged = package / "templates"
    return packaged if packaged.is_dir() else package.parent / "templates"


LINE = 110  # the line length generated Python is laid out for (ruff format's, pyproject's)


def columns(text: str) -> int:
    """Display width, as ruff measures a line: wide (East Asian) characters take two columns."""
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


def py_literal(value: Any, width: int | None = None) -> str:
    """A Python literal for JSON-like data, spelled as ``ruff format`` spells it: double quotes
    unless single ones need fewer escapes; repr()'s escapes for backslashes and control chars.
    A string longer than ``width`` columns becomes implicitly concatenated parts, one a line
    (the template indents the lines after the first)."""
    if isinstance(value, str):
        if width and columns(py_string(value)) > width:
            return "\n".join(py_string(part) for part in _parts(value, width))
        return py_string(value)
    if isinstance(value, float) and (value != value or value in (float("inf"), float("-inf"))):
        return f'float("{value}")'  # NaN and infinities have no literal
    if isinstance(value, list):
        return "[" + ", ".join(py_literal(v) for v in value) + "]"
    if isinstance(value, tuple):
        return "(" + ", ".join(py_literal(v) for v in value) + ("," if len(value) == 1 else "") + ")"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{py_literal(k)}: {py_literal(v)}" for k, v in value.items()) + "}"
    if isinstance(value, float):
        return repr(value).replace("e+", "e")  # ruff writes 1e16, not 1e+16
    return repr(value)


def py_string(text: str, quote: str | None = None) -> str:
    """A string literal in ``quote`` (default: ruff's choice, double unless the text holds more
    double quotes than single ones)."""
    if quote is None:
        quote = "'" if text.count('"') > text.count("'") else '"'
    body = "".join("\\\\" if c == "\\" else "\\" + c if c == quote else repr(c)[1:-1] for c in text)
    return quote + body + quote


def _parts(text: str, width: int) -> list[str]:
    """``text`` cut after spaces (else anywhere) into parts whose literals fit ``width``."""
    parts, current = [], ""
    for word in re.split(r"(?<= )", text):
        while word:
            if columns(py_string(current + word)) <= width:
                current, word = current + word, ""
            elif current:
                parts.append(current)
                current = ""
            else:  # one word wider than the line: cut it where it fills the line
                cut = max(n for n in range(1, len(word) + 1) if columns(py_string(word[:n])) <= width)
                parts.append(word[:cut])
                word = word[cut:]
    return [*parts, current] if current else parts


def py_block(value: Any, indent: int = 0, head: int = 0, tail: int = 0) -> str:
    """``value`` as ruff formats a literal that starts at column ``head`` (the line's indent is
    ``indent``) and is followed by ``tail`` columns: flat if it fits in 110 columns, else each
    item of a list, tuple or dict on its own line with a trailing comma, recursively; a long
    string in parentheses, cut into parts."""
    flat = py_literal(value)
    if head + columns(flat) + tail <= LINE or not value:
        return flat
    inner = " " * (indent + 4)
    if isinstance(value, str):
        parts = py_literal(value, LINE - indent - 4).replace("\n", "\n" + inner)
        return f"(\n{inner}{parts}\n{' ' * indent})"
    if isinstance(value, dict):
        items = [f"{py_literal(k)}: " + py_block(v, indent + 4, indent + 6 + columns(py_literal(k)), 1)
                 for k, v in value.items()]
        brackets = "{}"
    elif isinstance(value, list | tuple):
        items = [py_block(v, indent + 4, indent + 4, 1) for v in value]
        brackets = "[]" if isinstance(value, list) else "()"
    else:
        return flat
    return brackets[0] + "".join(f"\n{inner}{item}," for item in items) + f"\n{' ' * indent}{brackets[1]}"


def py_mapping(mapping: dict[str, Any] | list[str], values: bool = False) -> list[str]:
    """A dict display's items: {key: code} -> ['"key": code'] (``values``: the values are data,
    written with py_literal); a list of names -> ['"name": name']."""
    if isinstance(mapping, list):
        return [f"{py_literal(name)}: {name}" for name in mapping]
    return [f"{py_literal(k)}: {py_literal(v) if values else v}" for k, v in mapping.items()]


def py_display(value: Any) -> str:
    """A Python literal whose strings always take double quotes: for commands shown to a person,
    where the shell wraps the code in single quotes."""
    if isinstance(value, str):
        return py_string(value, '"')
    if isinstance(value, list):
        return "[" + ", ".join(py_display(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{py_display(k)}: {py_display(v)}" for k, v in value.items()) + "}"
    return py_literal(value)


def yaml_dump(value: Any) -> str:
    import yaml

    return yaml.safe_dump(value, sort_keys=False, allow_unicode=True, width=1 << 20).rstrip("\n")


def dockerfile_quote(value: str) -> str:
    """Double-quoted Dockerfile word: escape backslash, quote and '$' (no variable expansion)."""
    if "\n" in value or "\r" in value:
        raise ValueError("a Dockerfile word cannot hold a newline")
    escaped = value.replace("\\", "\\\\").replace('"', '\\"').replace("$", "\\$")
    return f'"{escaped}"'


@cache
def environment(root: Path | None = None) -> Any:
    """The environment for portapack's templates, or for a plugin target's own ``root`` (which
    can still include portapack's ``_shared/`` templates)."""
    import jinja2  # only when something is rendered: CLI start-up stays light

    roots = [str(root)] if root else []
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader([*roots, str(templates_root())]),
        bytecode_cache=_bytecode_cache(jinja2),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
        autoescape=False,
    )
    env.filters.update(
        py=py_literal,
        py_block=py_block,
        columns=columns,
        # keyword arguments: {name: data} -> ["name=<literal>"], {name: code} -> ["name=code"]
        py_kwargs=lambda kw, width=None: [f"{k}={py_literal(v, width and width - len(k) - 1)}"
                                          for k, v in kw.items()],
        py_code=lambda kw: [f"{k}={v}" for k, v in kw.items()],
        py_mapping=py_mapping,
        pyd=py_display,
        yaml=yaml_dump,
        json=lambda v, indent=2: json.dumps(v, indent=indent, ensure_ascii=False),
        sh=shlex.quote,
        docker=dockerfile_quote,
        docker_env=lambda pair: f"{pair[0]}={dockerfile_quote(pair[1])}",
    )
    return env


def _bytecode_cache(jinja2: Any) -> Any:
    """Compiled templates cached under the user's cache dir (keyed by each template's source, so
    an edited template recompiles): compiling them is most of a build's time. None when the
    cache dir cannot be written."""
    base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    folder = base / "portapack" / "templates"
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError:
        return None

    class TolerantCache(jinja2.FileSystemBytecodeCache):
        """A cache is never a reason to fail a build: the folder may be gone since (a cleaned
        ~/.cache, a test's temporary home), or read-only; then the template compiles as usual."""

        def load_bytecode(self, bucket: Any) -> None:
            try:
                super().load_bytecode(bucket)
            except OSError:
                pass

        def dump_bytecode(self, bucket: Any) -> None:
            try:
                Path(self.directory).mkdir(parents=True, exist_ok=True)
                super().dump_bytecode(bucket)
            except OSError:
                pass

    return TolerantCache(str(folder))


def render(template: str, context: dict[str, Any], root: Path | None = None) -> str:
    return environment(root).get_template(template).render(**context)
