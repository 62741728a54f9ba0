"""``portapack import PLATFORM SRC_DIR``: bring an existing project over."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

from portapack.commands._common import (
    echo_header,
    echo_result,
    echo_summary,
    emit_json,
    handles_errors,
    json_option,
)
from portapack.errors import SpecError


def _examples(raw: tuple[str, ...]) -> list[dict[str, Any]]:
    examples = []
    for n, text in enumerate(raw, start=1):
        try:
            value = json.loads(text)
        except ValueError as exc:
            raise SpecError(f"--example {n}: not JSON ({exc.msg}); write e.g. "
                            "--example '{\"text\": \"hi\"}'") from None
        if not isinstance(value, dict):
            raise SpecError(f"--example {n}: must be a JSON object of inputs")
        examples.append(value)
    return examples


@click.command(name="import")
@click.argument("platform", metavar="PLATFORM")
@click.argument("src", type=click.Path(path_type=Path))
@click.option("--out", type=click.Path(path_type=Path), default=None,
              help="New folder for the portapack project (default: SRC-portapack). Never overwritten.")
@click.option("--strict", is_flag=True, help="Refuse if anything cannot be carried over.")
@click.option("--gpu", default=None,
              help="GPU type when the source names none (its config says only gpu: true).")
@click.option("--example", "examples", multiple=True, metavar="JSON",
              help="An example request's inputs, as JSON; repeatable.")
@click.option("--verify", is_flag=True,
              help="Then run the examples on the original under its own runtime and on the "
              "imported project's targets, and report any difference.")
@json_option
@handles_errors
def import_command(platform: str, src: Path, out: Path | None, strict: bool, gpu: str | None,
                   examples: tuple[str, ...], verify: bool, as_json: bool) -> None:
    """Convert another platform's project in SRC into a portapack project (reads, never runs
    it). PLATFORM is a target that can import ('portapack targets' marks them)."""
    from portapack.importing import import_project

    out = out or src.with_name(f"{src.resolve().name}-portapack")
    result = import_project(platform, src, out, strict=strict, gpu=gpu, examples=_examples(examples))
    notes = result.imported.notes
    report = None
    if verify:
        from portapack.importing.verify import verify as run_verify

        report = run_verify(platform, src, result.project)
    if as_json:
        data = {"ok": report is None or report.ok, "out": str(result.out),
                "notes": [{"where": n.where, "message": n.message, "lost": n.lost} for n in notes]}
        if report is not None:
            data["verify"] = report.to_json()
        emit_json(data)
    else:
        click.secho(f"imported {platform} project {src} -> {result.out} (valid)", fg="green")
        for n in notes:
            click.secho(f"  {'~' if n.lost else '-'} {n}", fg="yellow" if n.lost else None)
        if any(n.lost for n in notes):
            click.echo("(~ not carried over or approximated; --strict refuses these)")
        if report is not None:
            click.echo("")
            echo_header()
            for row in report.results:
                echo_result(row)
            echo_summary(report, " (expected outputs: the original project's)")
        else:
            click.echo(f"next: portapack test --spec {result.out}")
    if report is not None and not report.ok:
        raise SystemExit(1)
