"""What every command shares: the --spec and --json options, JSON output, and the one
wrapper that turns portapack's own errors into a red message and an exit code."""

from __future__ import annotations

import functools
import json
import shutil
import sys
import textwrap
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


TABLE_HEADER = f"{'target':13} {'case':22} {'result':10} {'latency':>10}"


def echo_header() -> None:
    """The test table's column names (the rows: :func:`echo_result`)."""
    click.echo(TABLE_HEADER)


def echo_result(result: Any) -> None:
    """One row of a test table: target, case, pass/FAIL/skip, latency, then a skip's reason
    cut to the terminal's width (in full under the table), so the columns stay aligned."""
    word, color = (("skip", "yellow") if result.skipped else ("pass", "green") if result.ok
                   else ("FAIL", "red"))
    if getattr(result, "device", None):  # run on another device than the spec's (--device cpu)
        word += f" ({result.device})"
    latency = "-" if result.skipped else f"{result.seconds * 1000:.1f} ms"
    line = f"{result.target:13} {result.case:22} "
    tail = f" {latency:>10}"
    reason = ""
    if result.skipped:
        room = shutil.get_terminal_size((100, 24)).columns - len(line) - 10 - len(tail) - 2
        reason = "  " + _cut(result.skipped, max(room, 20))
    click.echo(line + click.style(f"{word:10}", fg=color) + tail + reason)


def _cut(text: str, width: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= width else text[:width - 3] + "..."


def echo_summary(report: Any, note: str = "", *, verbose: bool = False,
                 logs: Path | None = None) -> None:
    """Each failure in one line (its cause and the fix; with ``verbose`` its whole error and
    the runtime's log), a diff where an output differed, each skip reason in full, where the
    logs are, then the count line (``note`` goes after it)."""
    from portapack.proof.causes import short_cause

    for failure in report.failures:
        line = (getattr(failure, "cause", None) or short_cause(failure.error) if failure.error
                else "the output differs")
        click.secho(f"\n{failure.target} / {failure.case}: ", fg="red", bold=True, nl=False)
        click.echo(line)
        if verbose and failure.error and failure.error.strip() != line:
            click.echo(textwrap.indent(failure.error.rstrip(), "  "))
        # A diff when an output came back and differs (an error's null output says nothing).
        if failure.actual is not None or (verbose and failure.expected is not None):
            click.echo(failure.diff())
    for reason in dict.fromkeys(r.skipped for r in report.skipped):
        click.secho(f"\nskipped: {reason}", fg="yellow")
    if getattr(report, "note", None):
        click.secho(f"\n{report.note}", fg="yellow")
    if logs is not None and report.failures and logs.is_dir() and any(logs.iterdir()):
        click.echo(f"\nruntime logs: {display(logs)}/<target>.log"
                   + ("" if verbose else " (-v shows them here)"))
        if verbose:
            for log in sorted(logs.glob("*.log")):
                click.secho(f"\n--- {display(log)}", bold=True)
                click.echo(log.read_text(encoding="utf-8", errors="replace").rstrip())
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
