"""What every command shares: the --spec and --json options, JSON output, and the one
wrapper that turns portapack's own errors into a red message and an exit code."""

from __future__ import annotations

import functools
import json
import sys
from pathlib import Path
from typing import Any

import click

from ..errors import PortapackError

spec_option = click.option(
    "--spec", "spec_path", type=click.Path(path_type=Path), default=None,
    help="portapack.yaml, or its folder (default: ./portapack.yaml).",
)
json_option = click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")


def target_help(extra: str = "") -> str:
    """The --target help text, listing the registered targets."""
    from ..targets import TARGETS

    return ", ".join(TARGETS) + (f" or {extra}" if extra else "") + "."


def emit_json(data: Any) -> None:
    click.echo(json.dumps(data, indent=2, ensure_ascii=False, default=str))


def handles_errors(fn):
    """Turn portapack's own errors into a red message (or JSON) and the error's exit code."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except PortapackError as exc:
            listed = getattr(exc, "problems", None)
            if kwargs.get("as_json"):
                problems = listed if listed else [str(exc)]
                emit_json({"ok": False, "error": type(exc).__name__,
                            "problems": [str(p) for p in problems]})
            else:
                lines = [str(p) for p in listed] if listed else [str(exc)]
                head = exc.label
                click.secho(f"{head}:" if len(lines) > 1 else f"{head}: {lines[0]}", fg="red",
                            err=True)
                for line in lines if len(lines) > 1 else []:
                    click.secho(f"  {line}", fg="red", err=True)
            sys.exit(exc.exit_code)
        except KeyboardInterrupt:
            click.secho("interrupted", fg="red", err=True)
            sys.exit(130)

    return wrapper


def display(path: Path) -> str:
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        return str(path)
