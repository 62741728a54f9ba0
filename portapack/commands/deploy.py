"""``portapack deploy``: preflight, plan, then push one target to its platform."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from portapack.commands._common import emit_json, handles_errors, json_option, spec_option, target_option


@click.command()
@spec_option
@target_option("One of {targets}.", required=True)
@click.option("--out", type=click.Path(path_type=Path), default=Path("build"), show_default=True)
@click.option("--dry-run", is_flag=True, help="Print the plan; make no network call.")
@click.option("--build", "rebuild", is_flag=True, help="Build the target first.")
@click.option("--registry", default=None,
              help="Registry/namespace to push the image to (targets whose artifact is an image).")
@click.option("--owner", default=None,
              help="Owner (user or organization) of the model, where the platform names one.")
@click.option("--promote/--no-promote", default=None,
              help="Promote the new deployment to production, where the platform has one.")
@click.option("--base-image", default=None,
              help="Override the Dockerfile's BASE_IMAGE (targets whose artifact is an image).")
@click.option("--namespace", default=None,
              help="Namespace to deploy into, where the platform has namespaces (Kubernetes).")
@click.option("--timeout", type=float, default=600, show_default=True,
              help="Seconds allowed for a step that runs the platform's own CLI.")
@json_option
@handles_errors
def deploy(spec_path: Path | None, target: str, out: Path, dry_run: bool, rebuild: bool,
           registry: str | None, owner: str | None, promote: bool | None,
           base_image: str | None, namespace: str | None, timeout: float, as_json: bool) -> None:
    """Deploy a built target to its platform (preflight and plan first)."""
    from portapack.deploying import DeployOptions
    from portapack.deploying import deploy as run_deploy

    progress = None if as_json else (lambda line: click.echo(line))
    options = DeployOptions(registry=registry, owner=owner, promote=promote, timeout=timeout,
                            base_image=base_image, namespace=namespace, progress=progress)
    outcome = run_deploy(spec_path, target, out, dry_run=dry_run, rebuild=rebuild, options=options)
    if dry_run:
        if as_json:
            emit_json({"ok": not outcome.problems, "plan": outcome.to_json()})
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
        emit_json({"ok": True, **outcome.to_json()})
        return
    click.secho(f"deployed {outcome.name} to {outcome.target}", fg="green")
    if outcome.endpoint_id:
        click.echo(f"  id:  {outcome.endpoint_id}")
    if outcome.url:
        click.echo(f"  url: {outcome.url}")
    if outcome.sample_request:
        click.echo(f"  try: {outcome.sample_request}")
    click.echo(f"  or:  portapack call --target {outcome.target} -i ...")
    from portapack.deploying.record import read_record, record_path

    recorded = record_path(out, outcome.target).is_file() and read_record(out, outcome.target)
    if recorded and recorded.get("server"):  # an LLM engine: the base URL for OpenAI SDKs
        from portapack.calling.base import make_transport

        transport = make_transport(outcome.target, outcome.url, endpoint=outcome.endpoint_id,
                                   token="", local=False, project=None)
        base = transport.openai_base()
        if base:
            click.echo(f"  OpenAI-compatible base URL: {base}")
