"""``portapack call``: call the deployed model (or ``portapack serve``'s) with the spec's
inputs, the same way on every platform."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import click

from portapack.commands._common import emit_json, handles_errors, json_option, spec_option, target_option


@click.command()
@spec_option
@target_option("One of {targets}.", required=True)
@click.option("--input", "-i", "pairs", multiple=True, metavar="NAME=VALUE",
              help="An input, converted to its declared type; a file as NAME=@path.")
@click.option("--url", default=None, help="Call this URL instead of the recorded deployment.")
@click.option("--endpoint", "--id", "endpoint", default=None,
              help="The platform's endpoint/deployment id instead of the recorded one.")
@click.option("--local", is_flag=True, help="Call what 'portapack serve' is serving.")
@click.option("--stream", is_flag=True, help="Print items as the model yields them.")
@click.option("--async", "submit", is_flag=True, help="Start a job, print its id, do not wait.")
@click.option("--job", "job_id", default=None, help="Wait for a job started with --async.")
@click.option("--post", "route", default=None, metavar="ROUTE",
              help="server: projects: POST this route of your server (body from --data).")
@click.option("--data", default=None, help="The JSON body for --post.")
@click.option("--timeout", type=float, default=600, show_default=True, help="Seconds for the call.")
@click.option("--repeat", type=int, default=1, show_default=True, help="Calls to make (latency).")
@click.option("--concurrency", type=int, default=1, show_default=True, help="Calls at a time.")
@click.option("--out", type=click.Path(path_type=Path), default=Path("build"), show_default=True)
@json_option
@handles_errors
def call(spec_path: Path | None, target: str, pairs: tuple[str, ...], url: str | None,
         endpoint: str | None, local: bool, stream: bool, submit: bool, job_id: str | None,
         route: str | None, data: str | None, timeout: float, repeat: int, concurrency: int,
         out: Path, as_json: bool) -> None:
    """Call the deployed model (or, with --local, 'portapack serve') with -i inputs."""
    from portapack.calling import Client
    from portapack.deploying.record import read_record
    from portapack.proof.local import parse_cli_inputs
    from portapack.spec.loader import load_project
    from portapack.targets import canonical_name

    target = canonical_name(target)
    project = load_project(spec_path, exclude=(out.resolve(),))
    if url is None and endpoint is None:
        record = read_record(out, target, local=local)
        url, endpoint = record.get("url"), record.get("endpoint_id")
    client = Client(target, url, endpoint=endpoint, local=local, project=project,
                    timeout=timeout, output_dir=Path("output"), wait=1.0,
                    on_status=None if as_json else _show_wait)
    if route is not None:
        return _post(client, route, data, as_json)
    inputs: dict[str, Any] = {} if project.spec.server else parse_cli_inputs(project, pairs)
    if repeat > 1:
        from portapack.calling.latency import measure

        stats = measure(lambda: client.predict(inputs), repeat, concurrency)
        if as_json:
            return emit_json({"ok": not stats.errors, **stats.to_json()})
        figures = stats.to_json()
        click.echo(f"{figures['calls']} calls, {concurrency} at a time, {figures['errors']} failed")
        click.echo(f"  p50 {figures['p50_ms']:.1f} ms  p95 {figures['p95_ms']:.1f} ms  "
                   f"p99 {figures['p99_ms']:.1f} ms  {figures['per_second']:.2f} calls/s")
        for error in figures["first_errors"]:
            click.secho(f"  {error}", fg="red")
        return
    if submit:
        job = client.submit(inputs)
        if as_json:
            return emit_json({"ok": True, "id": job.id, "state": job.job.state.value})
        click.echo(f"{job.id or '(no job id: the platform answered at once)'} {job.job.state.value}")
        return
    if job_id is not None:
        job = client.job(job_id)
        output = job.result(timeout)
        if as_json:
            return emit_json({"ok": True, "output": _plain(output)})
        click.echo(output if isinstance(output, str) else json.dumps(_plain(output), indent=2))
        return
    if stream or project.predictor.streaming:
        items = []
        for item in client.stream(inputs):
            items.append(item)
            if not as_json:
                text = item if isinstance(item, str) else json.dumps(_plain(item))
                click.echo(text, nl=not isinstance(item, str))
                sys.stdout.flush()
        if as_json:
            return emit_json({"ok": True, "output": _plain(items)})
        if items and isinstance(items[-1], str):
            click.echo("")
        return
    output = client.predict(inputs)
    if as_json:
        return emit_json({"ok": True, "output": _plain(output)})
    click.echo(output if isinstance(output, str) else json.dumps(_plain(output), indent=2,
                                                                 ensure_ascii=False))


def _post(client: Any, route: str, data: str | None, as_json: bool) -> None:
    base = client.openai_base()
    if base and not as_json:
        click.echo(f"OpenAI-compatible base URL: {base}", err=True)
    body = json.loads(data) if data else None
    resp = client.post(route, json=body)
    if as_json:
        return emit_json({"ok": resp.status_code < 400, "status": resp.status_code,
                          "body": resp.text})
    click.echo(resp.text)
    if resp.status_code >= 400:
        sys.exit(1)


def _show_wait(job: Any, seconds: float, _shown: dict[str, Any] = {}) -> None:  # noqa: B006
    """Progress on stderr: a queued job is waiting (a cold start, often), not failing. One line
    when the state changes, then one every 5 s."""
    if job.done or seconds < 1:
        return
    key = (job.id, job.state)
    if _shown.get("key") == key and seconds - _shown.get("at", 0) < 5:
        return
    _shown.update(key=key, at=seconds)
    what = "queued (cold start?)" if job.state.value == "queued" else job.state.value
    click.echo(f"waiting: {what} {seconds:.0f}s", err=True)


def _plain(value: Any) -> Any:
    """Paths (file outputs) as strings for printing."""
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    return value
