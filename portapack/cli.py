"""The command line: parse options, call the library, print. Nothing else lives here."""

from __future__ import annotations

import contextlib
import functools
import json
import signal
import sys
import time
from pathlib import Path
from typing import Any

import click

from . import __version__
from .errors import PortapackError, SpecError

spec_option = click.option(
    "--spec", "spec_path", type=click.Path(path_type=Path), default=None,
    help="portapack.yaml, or its folder (default: ./portapack.yaml).",
)
json_option = click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")


def _emit_json(data: Any) -> None:
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
                _emit_json({"ok": False, "error": type(exc).__name__,
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


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="portapack")
def main() -> None:
    """Write a model once; ship it to Modal, Replicate (Cog), Baseten (Truss) and RunPod."""
    # SIGTERM unwinds like Ctrl-C, so servers that test/serve started are always stopped.
    signal.signal(signal.SIGTERM, _terminate)


def _terminate(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt


@main.command()
@click.option("--dir", "directory", type=click.Path(path_type=Path), default=Path("."),
              help="Where to write the starter (default: here).")
@click.option("--name", default=None, help="Model name (default: the folder's name).")
@json_option
@handles_errors
def init(directory: Path, name: str | None, as_json: bool) -> None:
    """Write a working starter portapack.yaml and predict.py."""
    from .starter import write_starter

    written = write_starter(directory, name)
    if as_json:
        _emit_json({"ok": True, "files": [str(p) for p in written]})
        return
    for path in written:
        click.echo(f"wrote {path}")
    click.echo("next: portapack build --target all")


@main.command()
@spec_option
@json_option
@handles_errors
def validate(spec_path: Path | None, as_json: bool) -> None:
    """Check the spec and the predictor's signature, without writing anything."""
    from .loader import load_project

    project = load_project(spec_path)
    schema = project.predictor.inputs_schema()
    if as_json:
        _emit_json({"ok": True, "name": project.spec.name, "inputs": schema,
                    "streaming": project.predictor.streaming, "files": list(project.files)})
        return
    click.secho(f"{project.spec_path}: valid", fg="green")
    for i in project.predictor.inputs:
        default = "required" if i.required else f"default {i.default!r}"
        click.echo(f"  input {i.name}: {schema['properties'][i.name].get('type', i.kind)} ({default})")
    click.echo(f"  output: {'stream' if project.predictor.streaming else 'value'}")


@main.command()
@spec_option
@click.option("--target", "-t", "targets", multiple=True, default=("all",), show_default=True,
              help="modal, cog, truss, runpod or all; repeatable.")
@click.option("--out", type=click.Path(path_type=Path), default=Path("build"), show_default=True,
              help="Output folder; each target goes to OUT/<target>/.")
@click.option("--strict", is_flag=True, help="Fail if a target would approximate or leave out anything.")
@json_option
@handles_errors
def build(spec_path: Path | None, targets: tuple[str, ...], out: Path, strict: bool,
          as_json: bool) -> None:
    """Compile the spec into each target's project."""
    from .build import build as run_build

    result = run_build(spec_path, list(targets), out, strict=strict)
    if as_json:
        _emit_json({"ok": True, "out": str(result.out), "targets": [
            {"target": b.target, "path": str(b.path), "files": b.files,
             "notes": [{"feature": n.feature, "message": n.message} for n in b.notes]}
            for b in result.builds]})
        return
    for b in result.builds:
        click.secho(f"{b.target:7} -> {_display(b.path)} ({len(b.files)} files)", fg="green")
        for note in b.notes:
            click.secho(f"          ~ {note}", fg="yellow")
    if result.notes:
        click.echo("(~ approximated or left out; --strict makes these errors)")


@main.command()
@spec_option
@click.option("--input", "-i", "pairs", multiple=True, metavar="NAME=VALUE",
              help="An input, converted to its declared type (lists and dicts as JSON).")
@json_option
@handles_errors
def predict(spec_path: Path | None, pairs: tuple[str, ...], as_json: bool) -> None:
    """Run one prediction with the predictor loaded in this process."""
    from collections.abc import Iterator

    from .loader import load_project
    from .local import LocalPredictor, parse_cli_inputs

    project = load_project(spec_path)
    request = parse_cli_inputs(project, pairs)
    runner = LocalPredictor(project)
    runner.validate(request)  # reject a bad request before paying for load()
    quiet = contextlib.redirect_stdout(sys.stderr) if as_json else contextlib.nullcontext()
    with quiet:  # the model's own prints must not corrupt --json output
        runner.load()
        result = runner.predict(request)
        if as_json and isinstance(result, Iterator):
            result = list(result)
    if isinstance(result, Iterator):
        items = []
        for item in result:
            items.append(item)
            if not as_json:
                click.echo(item if isinstance(item, str) else json.dumps(item, ensure_ascii=False),
                           nl=not isinstance(item, str))
        if not as_json and items and isinstance(items[-1], str):
            click.echo("")
        result = items
    if as_json:
        _emit_json({"ok": True, "output": result})
    elif not project.predictor.streaming:
        click.echo(result if isinstance(result, str) else json.dumps(result, indent=2,
                                                                      ensure_ascii=False))


@main.command(name="test")
@spec_option
@click.option("--target", "-t", "targets", multiple=True, default=("all",), show_default=True,
              help="modal, cog, truss, runpod or all; repeatable.")
@click.option("--out", type=click.Path(path_type=Path), default=Path("build"), show_default=True)
@click.option("--tolerance", type=float, default=None,
              help="Compare floats within this relative/absolute tolerance (default: exact).")
@click.option("--image", is_flag=True, help="Also build the RunPod image with Docker and test it.")
@click.option("--base-image", default=None, help="Base image for --image.")
@json_option
@handles_errors
def test_command(spec_path: Path | None, targets: tuple[str, ...], out: Path,
                 tolerance: float | None, image: bool, base_image: str | None,
                 as_json: bool) -> None:
    """Run the spec's examples in-process and under every target's own local runtime."""
    from .loader import load_project
    from .targets import resolve_targets
    from .testing import run_tests

    project = load_project(spec_path, exclude=(out.resolve(),))
    chosen = [t.name for t in resolve_targets(list(targets))]
    if not project.spec.examples:
        raise SpecError("the spec has no examples: add some under 'examples:' to test against")
    extra = {}
    if image:
        from .images import docker_runtime_factory

        extra["runpod-image"] = docker_runtime_factory(project, out, base_image)

    def show(result) -> None:
        if not as_json:
            mark = click.style("pass", fg="green") if result.ok else click.style("FAIL", fg="red")
            click.echo(f"{result.target:13} {result.case:22} {mark}  {result.seconds * 1000:8.1f} ms")

    if not as_json:
        click.echo(f"{'target':13} {'case':22} result   latency")
    quiet = contextlib.redirect_stdout(sys.stderr) if as_json else contextlib.nullcontext()
    with quiet:  # the model's own prints must not corrupt --json output
        report = run_tests(project, chosen, out, tolerance=tolerance, on_result=show,
                           extra_runtimes=extra)
    if as_json:
        _emit_json(report.to_json())
    else:
        for failure in report.failures:
            click.secho(f"\n{failure.target} / {failure.case}:", fg="red", bold=True)
            if failure.error:
                click.echo(f"  error: {failure.error}")
            if failure.expected is not None or failure.actual is not None:
                click.echo(failure.diff())
        passed = len(report.results) - len(report.failures)
        click.secho(f"\n{passed} passed, {len(report.failures)} failed",
                    fg="green" if report.ok else "red")
    if not report.ok:
        sys.exit(1)


@main.command()
@spec_option
@click.option("--target", "-t", required=True, help="modal, cog, truss or runpod.")
@click.option("--port", type=int, default=None, help="Port (default: a free one).")
@click.option("--out", type=click.Path(path_type=Path), default=Path("build"), show_default=True)
@click.option("--reload", is_flag=True, help="Rebuild and restart when the spec or your files change.")
@handles_errors
def serve(spec_path: Path | None, target: str, port: int | None, out: Path, reload: bool) -> None:
    """Serve one target's artifact locally under its own runtime (Ctrl-C stops it)."""
    from .build import build as run_build
    from .loader import find_spec, load_project
    from .runtimes.base import free_port
    from .serve import Served, Watcher, check_port_free
    from .targets import get_target

    get_target(target)
    if port is not None:
        check_port_free(port)
    port = port or free_port()
    spec_file = find_spec(spec_path)

    def start() -> Served:
        from .targets.base import example_input
        project = load_project(spec_file, exclude=(out.resolve(),))
        result = run_build(project, [target], out)
        served = Served(target, result[target].path, port)
        example = example_input(project)
        click.secho(f"{target} serving {result[target].path} at {served.url}", fg="green")
        click.echo(f"  try: {served.sample_request(example)}")
        return served

    def files() -> list[Path]:
        try:
            project = load_project(spec_file, exclude=(out.resolve(),))
            return [spec_file] + [project.root / f for f in project.files]
        except PortapackError:
            return [spec_file]

    watcher = Watcher(files) if reload else None
    served = None
    try:
        served = start()
        if watcher is None:
            while True:
                time.sleep(3600)
        for _ in watcher.changes():
            click.echo("change detected: rebuilding")
            if served is not None:
                served.stop()
            served = None
            try:
                served = start()
            except PortapackError as exc:
                click.secho(f"rebuild failed, fix and save again: {exc}", fg="red", err=True)
    except KeyboardInterrupt:
        click.echo("stopping")
    finally:
        if served is not None:
            served.stop()


@main.command()
@spec_option
@click.option("--target", "-t", default="runpod", show_default=True,
              type=click.Choice(["runpod"]), help="The target whose artifact is an image.")
@click.option("--tag", default=None, help="Image tag (default: NAME:latest).")
@click.option("--base-image", default=None, help="Override the Dockerfile's BASE_IMAGE.")
@click.option("--out", type=click.Path(path_type=Path), default=Path("build"), show_default=True)
@json_option
@handles_errors
def image(spec_path: Path | None, target: str, tag: str | None, base_image: str | None, out: Path,
          as_json: bool) -> None:
    """Build the RunPod artifact into a Docker image (needs a Docker engine)."""
    from .build import build as run_build
    from .images import build_image
    from .loader import load_project

    project = load_project(spec_path, exclude=(out.resolve(),))
    result = run_build(project, [target], out)
    tag = tag or f"{project.spec.name}:latest"
    progress = None if as_json else (lambda line: click.echo(f"  {line}") if line.strip() else None)
    built = build_image(result[target].path, tag, base_image=base_image, on_progress=progress)
    added = built.size - built.base_size if built.base_size is not None else None
    if as_json:
        _emit_json({"ok": True, "tag": built.tag, "size": built.size, "base_size": built.base_size,
                    "seconds": round(built.seconds, 2)})
        return
    extra = f", {added / 1e6:.1f} MB over the base" if added is not None else ""
    click.secho(f"built {built.tag}: {built.size / 1e6:.1f} MB{extra} in {built.seconds:.1f}s",
                fg="green")


@main.command()
@spec_option
@click.option("--target", "-t", required=True, help="modal, cog, truss or runpod.")
@click.option("--out", type=click.Path(path_type=Path), default=Path("build"), show_default=True)
@click.option("--dry-run", is_flag=True, help="Print the plan; make no network call.")
@click.option("--build", "rebuild", is_flag=True, help="Build the target first.")
@click.option("--registry", default=None, help="runpod: registry/namespace for the image.")
@click.option("--owner", default=None, help="cog: Replicate owner of the model.")
@click.option("--promote/--no-promote", default=None, help="truss: promote to production.")
@click.option("--base-image", default=None, help="runpod: override the Dockerfile's BASE_IMAGE.")
@click.option("--timeout", type=float, default=600, show_default=True,
              help="Seconds allowed for a platform CLI step (modal deploy, cog push).")
@json_option
@handles_errors
def deploy(spec_path: Path | None, target: str, out: Path, dry_run: bool, rebuild: bool,
           registry: str | None, owner: str | None, promote: bool | None,
           base_image: str | None, timeout: float, as_json: bool) -> None:
    """Deploy a built target to its platform (preflight and plan first)."""
    from .deployers import DeployOptions
    from .deployers import deploy as run_deploy

    progress = None if as_json else (lambda line: click.echo(line))
    options = DeployOptions(registry=registry, owner=owner, promote=promote, timeout=timeout,
                            base_image=base_image, progress=progress)
    outcome = run_deploy(spec_path, target, out, dry_run=dry_run, rebuild=rebuild, options=options)
    if dry_run:
        if as_json:
            _emit_json({"ok": not outcome.problems, "plan": outcome.to_json()})
        else:
            click.secho(f"plan for {outcome.target} ({outcome.name}), nothing done:", bold=True)
            for key, value in outcome.settings.items():
                click.echo(f"  {key}: {value}")
            if outcome.secrets:
                click.echo(f"  secrets the platform must hold: {', '.join(outcome.secrets)}")
            for n, step in enumerate(outcome.steps, start=1):
                click.echo(f"  {n}. {step}")
            for problem in outcome.problems:
                click.secho(f"  preflight would fail: {problem}", fg="red")
        if outcome.problems:
            sys.exit(1)
        return
    if as_json:
        _emit_json({"ok": True, **outcome.to_json()})
        return
    click.secho(f"deployed {outcome.name} to {outcome.target}", fg="green")
    if outcome.endpoint_id:
        click.echo(f"  id:  {outcome.endpoint_id}")
    if outcome.url:
        click.echo(f"  url: {outcome.url}")
    if outcome.sample_request:
        click.echo(f"  try: {outcome.sample_request}")


@main.command()
@json_option
@handles_errors
def targets(as_json: bool) -> None:
    """List the targets and how each names every GPU."""
    from .targets import TARGETS
    from .targets.base import gpu_table

    instances = [t() for t in TARGETS.values()]
    rows = gpu_table(instances)
    if as_json:
        _emit_json({"targets": [{"name": t.name, "title": t.title,
                                 "install": f'pip install "portapack[{t.extra}]"'} for t in instances],
                    "gpus": rows})
        return
    for t in instances:
        click.echo(f"{t.name:7} {t.title:8} pip install \"portapack[{t.extra}]\"")
    click.echo("")
    headers = ["gpu", "memory_gb"] + [t.name for t in instances]
    widths = {h: max(len(h), *(len(r[h]) for r in rows)) for h in headers}
    click.echo("  ".join(h.ljust(widths[h]) for h in headers))
    for row in rows:
        click.echo("  ".join(row[h].ljust(widths[h]) for h in headers))
    click.echo("\n~ nearest match (that platform has no such GPU); aliases are case-insensitive, "
               "':N' sets a count")


@main.command()
@handles_errors
def schema() -> None:
    """Print the JSON Schema of portapack.yaml (for editor completion)."""
    from .spec import spec_json_schema

    _emit_json(spec_json_schema())


def _display(path: Path) -> str:
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        return str(path)


from .commands.cost import cost as cost_command  # noqa: E402 (it uses the helpers above)

main.add_command(cost_command)
from .commands.importer import import_command  # noqa: E402 (it uses the helpers above)

main.add_command(import_command)

if __name__ == "__main__":  # pragma: no cover
    main()
