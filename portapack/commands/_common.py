"""What every command shares: the --spec and --json options, JSON output, and the one
wrapper that turns portapack's own errors into a red message and an exit code."""

from __future__ import annotations

import functools
import json
import sys
from pathlib import Path
from typing import Any

import click

from portapack.errors import PortapackError

spec_option = click.option(
    "--spec", "spec_path", type=click.Path(path_type=Path), default=None,
    help="portapack.yaml, or its folder (default: ./portapack.yaml).",
)
json_option = click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")


class TargetOption(click.Option):
    """--target, whose help lists the registered targets (plugins too), read only when help
    is shown: start-up never loads the registry."""

    def __init__(self, *args: Any, help_template: str = "", **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.help_template = help_template

    def get_help_record(self, ctx: click.Context) -> tuple[str, str] | None:
        from portapack.targets import names

        self.help = self.help_template.format(targets=", ".join(names()))
        return super().get_help_record(ctx)


def target_option(help_template: str, *names: str, **kwargs: Any) -> Any:
    """``--target/-t`` (``names`` may add the parameter's name); ``{targets}`` in the help
    becomes the registered target names."""
    return click.option("--target", "-t", *names, cls=TargetOption, help_template=help_template,
                        **kwargs)


def echo_result(result: Any) -> None:
    """One row of a test table: target, case, pass/FAIL/skip (with its reason), latency."""
    mark = click.style("pass", fg="green") if result.ok else click.style("FAIL", fg="red")
    if result.skipped:  # could not run: listed with its reason, never a pass
        mark = click.style("skip", fg="yellow") + f"  {result.skipped}"
    click.echo(f"{result.target:13} {result.case:22} {mark}  {result.seconds * 1000:8.1f} ms")


def echo_summary(report: Any, note: str = "") -> None:
    """Each failure with its diff, then the count line (``note`` goes after it)."""
    for failure in report.failures:
        click.secho(f"\n{failure.target} / {failure.case}:", fg="red", bold=True)
        if failure.error:
            click.echo(f"  error: {failure.error}")
        if failure.expected is not None or failure.actual is not None:
            click.echo(failure.diff())
    passed = len(report.results) - len(report.failures) - len(report.skipped)
    skipped = f", {len(report.skipped)} skipped" if report.skipped else ""
    click.secho(f"\n{passed} passed, {len(report.failures)} failed{skipped}{note}",
                fg="green" if report.ok else "red" if report.failures else "yellow")


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
