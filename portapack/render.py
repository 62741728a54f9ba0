"""The jinja2 environment: StrictUndefined, kept trailing newlines, one escaping filter per
output language (Python, YAML, JSON, shell, Dockerfile)."""

from __future__ import annotations

import json
import os
import shlex
from functools import cache
from pathlib import Path
from typing import Any


def templates_root() -> Path:
    """Templates ship inside the wheel as portapack/templates; in a checkout they sit at the top."""
    packaged = Path(__file__).parent / "templates"
    return packaged if packaged.is_dir() else Path(__file__).parent.parent / "templates"


def py_literal(value: Any) -> str:
    """A Python literal for JSON-like data; repr() escapes quotes, newlines and control chars."""
    if isinstance(value, float) and value != value:  # NaN has no literal
        return 'float("nan")'
    return repr(value)


def py_display(value: Any) -> str:
    """A Python literal that prefers double quotes: for commands shown to a person, where the
    shell wraps the code in single quotes."""
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)  # JSON string escapes are valid Python
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
    return jinja2.FileSystemBytecodeCache(str(folder))


def render(template: str, context: dict[str, Any], root: Path | None = None) -> str:
    return environment(root).get_template(template).render(**context)
