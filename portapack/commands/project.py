"""Commands on the spec itself: init, validate, build, targets, schema."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING

import click

from portapack.commands._common import (
    display,
    emit_json,
    handles_errors,
    json_option,
    spec_option,
    target_option,
)

if TYPE_CHECKING:
    from portapack.spec.signature import PredictorInfo


@click.command()
@click.option("--dir", "directory", type=click.Path(path_type=Path), default=Path("."),
              help="Where to write the starter (default: here).")
@click.option("--name", default=None, help="Model name (default: the folder's name).")
@json_option
@handles_errors
def init(directory: Path, name: str | None, as_json: bool) -> None:
    """Write a working starter portapack.yaml and predict.py."""
    from portapack.building.starter import write_starter

    written = write_starter(directory, name)
    if as_json:
        emit_json({"ok": True, "files": [str(p) for p in written]})
        return
    for path in written:
        click.echo(f"wrote {path}")
    click.echo("next: portapack build --target all")


@click.command()
@spec_option
@json_option
@handles_errors
def validate(spec_path: Path | None, as_json: bool) -> None:
    """Check the spec and the predictor's signature, without writing anything."""
    from portapack.spec.loader import load_project

    project = load_project(spec_path)
    pred, server = project.predictor, project.spec.server
    if pred is None:  # a server: project: an HTTP server command, no Python signature
        if as_json:
            emit_json({"ok": True, "name": project.spec.name,
                       "server": server.model_dump(mode="json"), "files": list(project.files)})
            return
        click.secho(f"{project.spec_path}: valid", fg="green")
        click.echo(f"  server: port {server.port}, health {server.health}")
        for route in server.routes:
            click.echo(f"  route {route}")
        return
    # The JSON Schema of the pydantic Inputs model every artifact ships (model_json_schema()):
    # it states exactly the rules they enforce.
    schema = pred.inputs_schema()
    from portapack.targets.artifacts import local_weights

    weights = [{"source": w["source"], "path": w["path"],
                "kind": "file" if w["kind"] == "file" else "folder"} for w in local_weights(project)]
    if as_json:
        emit_json({"ok": True, "name": project.spec.name, "inputs": schema,
                    "streaming": pred.streaming, "files": list(project.files),
                    "local_weights": weights})
        return
    click.secho(f"{project.spec_path}: valid", fg="green")
    for i in pred.inputs:
        default = "required" if i.required else f"default {i.default!r}"
        kind = _json_type(schema["properties"][i.name])
        if i.kind == "path":  # a string on the wire, but a file to the user
            kind = kind.replace("string", "file" + (f" ({i.accept})" if i.accept else ""), 1)
        click.echo(f"  input {i.name}: {kind} ({default})")
    click.echo(f"  output: {_output(pred)}")
    for w in weights:  # the rule: a file's path is the file, a folder's path the folder
        inside = "the file itself" if w["kind"] == "file" else "the folder, its files inside"
        click.echo(f"  weights {w['source']}: a local {w['kind']}, at {w['path']} ({inside})")


def _json_type(prop: dict) -> str:
    """An input's JSON type as the Inputs model's schema gives it, e.g. ``integer | null``."""
    return " | ".join(b.get("type", "any") for b in prop.get("anyOf", [prop]))


def _output(pred: PredictorInfo) -> str:
    """``stream``, ``value``, ``file`` or ``list of files`` (the return annotation's kind)."""
    if pred.streaming:
        return "stream of files" if pred.output_item == "path" else "stream"
    if pred.output_kind == "path":
        return "file"
    if pred.output_kind == "list" and pred.output_item == "path":
        return "list of files"
    return "value"


@click.command()
@spec_option
@target_option("{targets} or all (every target that can carry the spec; the others are listed "
               "and the exit code is 3); repeatable or comma-separated.", "targets", multiple=True,
               default=("all",), show_default=True)
@click.option("--out", type=click.Path(path_type=Path), default=Path("build"), show_default=True,
              help="Output folder; each target goes to OUT/<target>/.")
@click.option("--strict", is_flag=True, help="Fail if a target would approximate or leave out anything.")
@json_option
@handles_errors
def build(spec_path: Path | None, targets: tuple[str, ...], out: Path, strict: bool,
          as_json: bool) -> None:
    """Compile the spec into each target's project."""
    from portapack.building.builder import build as run_build

    result = run_build(spec_path, list(targets), out, strict=strict)
    if as_json:
        emit_json({"ok": not result.refused, "out": str(result.out), "targets": [
            {"target": b.target, "path": str(b.path), "files": b.files,
             "notes": [{"feature": n.feature, "message": n.message} for n in b.notes]}
            for b in result.builds],
            "refused": [{"target": r.target, "reasons": r.reasons} for r in result.refused]})
    else:
        for b in result.builds:
            click.secho(f"{b.target:7} -> {display(b.path)} ({len(b.files)} files)", fg="green")
            for note in b.notes:
                click.secho(f"          ~ {note}", fg="yellow")
        for r in result.refused:
            click.secho(f"{r.target:7} refused: {'; '.join(r.reasons)}", fg="yellow")
        if result.notes:
            click.echo("(~ approximated or left out; --strict makes these errors)")
    if result.refused:  # built what could be, but not everything asked for (as `test` skips)
        sys.exit(3)


@click.command()
@json_option
@handles_errors
def targets(as_json: bool) -> None:
    """List the targets and how each names every GPU."""
    from portapack.targets import TARGETS, registered
    from portapack.targets.base import gpu_table

    instances = [t() for t in TARGETS.values()]
    rows = gpu_table(instances)
    origins = registered()
    if as_json:
        emit_json({"targets": [{"name": t.name, "aliases": list(t.aliases), "title": t.title,
                                "origin": origins[t.name].origin, "install": t.install_hint,
                                "imports": t.importer is not None}
                               for t in instances], "gpus": rows})
        return
    for t in instances:
        aliases = f" (alias {', '.join(t.aliases)})" if t.aliases else ""
        imports = "import" if t.importer is not None else ""
        click.echo(f"{t.name + aliases:24} {t.title:8} {origins[t.name].origin:10} {imports:6}  "
                   f"{t.install_hint}")
    click.echo("\nimport: 'portapack import NAME SRC' reads that platform's existing projects\n")
    headers = ["gpu", "memory_gb"] + [t.name for t in instances]
    widths = {h: max(len(h), *(len(r[h]) for r in rows)) for h in headers}
    click.echo("  ".join(h.ljust(widths[h]) for h in headers))
    for row in rows:
        click.echo("  ".join(row[h].ljust(widths[h]) for h in headers))
    click.echo("\n~ nearest match (that platform has no such GPU); aliases are case-insensitive, "
               "':N' sets a count")


@click.command()
@handles_errors
def schema() -> None:
    """Print the JSON Schema of portapack.yaml (for editor completion)."""
    from portapack.spec.model import spec_json_schema

    emit_json(spec_json_schema())

