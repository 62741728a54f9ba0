"""Commands that run the model here: predict, test, serve, image."""

from __future__ import annotations

import contextlib
import json
import sys
import time
from pathlib import Path

import click

from portapack.commands._common import (
    echo_header,
    echo_result,
    echo_summary,
    emit_json,
    handles_errors,
    json_option,
    spec_option,
    target_option,
)
from portapack.errors import PortapackError, SpecError


@click.command()
@spec_option
@click.option("--input", "-i", "pairs", multiple=True, metavar="NAME=VALUE",
              help="An input, converted to its declared type (lists and dicts as JSON).")
@json_option
@handles_errors
def predict(spec_path: Path | None, pairs: tuple[str, ...], as_json: bool) -> None:
    """Run one prediction with the predictor loaded in this process."""
    from collections.abc import Iterator

    from portapack.proof.local import LocalPredictor, parse_cli_inputs
    from portapack.spec.loader import load_project

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
    if not as_json:  # file outputs (data: URIs) to ./output/, their paths shown instead (as Cog does)
        from portapack.spec.files import write_file_outputs

        result, written = write_file_outputs(result, Path("output"))
        for path, size in written:
            click.echo(f"wrote {path} ({size} bytes)", err=True)
    if as_json:
        emit_json({"ok": True, "output": result})
    elif not project.predictor.streaming:
        click.echo(result if isinstance(result, str) else json.dumps(result, indent=2,
                                                                      ensure_ascii=False))


@click.command(name="test")
@spec_option
@target_option("{targets} or all (a target that cannot carry the spec is listed as skipped, "
               "exit code 3); repeatable or comma-separated.", "targets", multiple=True,
               default=("all",), show_default=True)
@click.option("--out", type=click.Path(path_type=Path), default=Path("build"), show_default=True)
@click.option("--tolerance", type=float, default=None,
              help="Compare floats within this relative/absolute tolerance (default: exact).")
@click.option("--image", is_flag=True,
              help="Also build each artifact that is a Docker image and test it in a container.")
@click.option("--base-image", default=None,
              help="Base image of the images --image and a server: project build (default: the "
              "artifact's own, python:X.Y-slim).")
@click.option("--device", type=click.Choice(["auto", "cpu"]), default="auto", show_default=True,
              help="cpu: run a GPU spec's predictions on this machine's CPU (rows marked "
              "'(cpu)') instead of skipping them where the GPU is missing.")
@click.option("--verbose", "-v", is_flag=True,
              help="Show each failure's whole error and the runtime logs inline.")
@json_option
@handles_errors
def test_command(spec_path: Path | None, targets: tuple[str, ...], out: Path,
                 tolerance: float | None, image: bool, base_image: str | None, device: str,
                 verbose: bool, as_json: bool) -> None:
    """Run the spec's examples in-process and under every target's own local runtime.

    Exits 0 when every check passed, 1 when one failed, 3 when none failed but some could
    not run here (a GPU spec on a machine without it: try --device cpu)."""
    from portapack.proof.testing import logs_dir, run_tests
    from portapack.spec.loader import load_project
    from portapack.targets import resolve_targets

    project = load_project(spec_path, exclude=(out.resolve(),))
    resolve_targets(list(targets))  # an unknown name fails before anything runs
    if not project.spec.examples:
        raise SpecError("the spec has no examples: add some under 'examples:' to test against")
    extra = {}
    # A server: project's RunPod runtime is already its image in a container.
    for target in resolve_targets(list(targets)) if image and not project.spec.server else []:
        # The artifacts that are images, run in a real container (not one "all" leaves out).
        if target.image_runtime and not target.for_project(project).validate(project):
            factory = target.resolve_ref(target.image_runtime)
            extra[f"{target.name}-image"] = factory(project, out, base_image)

    def show(result) -> None:
        if not as_json:
            echo_result(result)

    if not as_json:
        echo_header()
    quiet = contextlib.redirect_stdout(sys.stderr) if as_json else contextlib.nullcontext()
    with quiet:  # the model's own prints must not corrupt --json output
        report = run_tests(project, list(targets), out, tolerance=tolerance, on_result=show,
                           extra_runtimes=extra, device=device, base_image=base_image)
    if as_json:
        emit_json(report.to_json())
    else:
        echo_summary(report, verbose=verbose, logs=logs_dir(out))
    if report.failures:
        sys.exit(1)
    if report.skipped:  # predictions did not run here: never a clean pass (exit 3)
        sys.exit(3)


@click.command()
@spec_option
@target_option("One of {targets}.", required=True)
@click.option("--port", type=int, default=None, help="Port (default: a free one).")
@click.option("--out", type=click.Path(path_type=Path), default=Path("build"), show_default=True)
@click.option("--reload", is_flag=True, help="Rebuild and restart when the spec or your files change.")
@handles_errors
def serve(spec_path: Path | None, target: str, port: int | None, out: Path, reload: bool) -> None:
    """Serve one target's artifact locally under its own runtime (Ctrl-C stops it)."""
    from portapack.building.builder import build as run_build
    from portapack.proof.runtimes.base import free_port
    from portapack.proof.serve import Served, Watcher, check_port_free
    from portapack.spec.loader import find_spec, load_project
    from portapack.targets import get_target

    target = get_target(target).name  # "replicate" serves the cog target
    if port is not None:
        check_port_free(port)
    port = port or free_port()
    spec_file = find_spec(spec_path)

    def start() -> Served:
        from portapack.targets.samples import served_example
        project = load_project(spec_file, exclude=(out.resolve(),))
        result = run_build(project, [target], out)
        served = Served(target, result[target].path, port)
        example = served_example(project)  # an "@file" as its data: URI: a curl that runs
        click.secho(f"{target} serving {result[target].path} at {served.url}", fg="green")
        click.echo(f"  try: {served.sample_request(example)}")
        from portapack.deploying.record import write_record

        write_record(out, target, {"url": served.url}, local=True)  # portapack call --local
        click.echo(f"  or:  portapack call --local --target {target} -i ...")
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
        from portapack.deploying.record import remove_record

        remove_record(out, target, local=True)
        if served is not None:
            served.stop()


@click.command()
@spec_option
@target_option("A target whose artifact is a Docker image ({targets}); default: the first one.",
               default=None)
@click.option("--tag", default=None, help="Image tag (default: NAME:latest).")
@click.option("--base-image", default=None, help="Override the Dockerfile's BASE_IMAGE.")
@click.option("--out", type=click.Path(path_type=Path), default=Path("build"), show_default=True)
@json_option
@handles_errors
def image(spec_path: Path | None, target: str, tag: str | None, base_image: str | None, out: Path,
          as_json: bool) -> None:
    """Build a target's artifact into a Docker image (needs a Docker engine)."""
    from portapack.building.builder import build as run_build
    from portapack.proof.engine import build_image
    from portapack.spec.loader import load_project
    from portapack.targets import get_target

    if target is None:
        from portapack.targets import TARGETS

        target = next(name for name, cls in TARGETS.items() if cls.image_runtime is not None)
    chosen = get_target(target)
    chosen.require_image()
    target = chosen.name
    project = load_project(spec_path, exclude=(out.resolve(),))
    result = run_build(project, [target], out)
    tag = tag or f"{project.spec.name}:latest"
    progress = None if as_json else (lambda line: click.echo(f"  {line}") if line.strip() else None)
    built = build_image(result[target].path, tag, base_image=base_image, on_progress=progress)
    added = built.size - built.base_size if built.base_size is not None else None
    if as_json:
        emit_json({"ok": True, "tag": built.tag, "size": built.size, "base_size": built.base_size,
                    "seconds": round(built.seconds, 2)})
        return
    extra = f", {added / 1e6:.1f} MB over the base" if added is not None else ""
    click.secho(f"built {built.tag}: {built.size / 1e6:.1f} MB{extra} in {built.seconds:.1f}s",
                fg="green")

