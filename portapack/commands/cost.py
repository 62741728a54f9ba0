"""``portapack cost``: the spec's price on each platform, side by side."""

from __future__ import annotations

from pathlib import Path

import click

from portapack.commands._common import emit_json, handles_errors, json_option, spec_option


@click.command()
@spec_option
@click.option("--requests-per-day", type=float, default=None, metavar="N",
              help="Requests a day (with --seconds-per-request).")
@click.option("--seconds-per-request", type=float, default=None, metavar="S",
              help="Seconds one request keeps a replica busy.")
@click.option("--busy-hours-per-day", type=float, default=None, metavar="H",
              help="Or: hours a day of continuous work, in one burst.")
@click.option("--cold-start-seconds", type=float, default=0.0, show_default=True, metavar="S",
              help="Seconds from a replica starting to serving (container start and load()); "
              "billed wherever the platform bills start-up (the table says which).")
@click.option("--offline", is_flag=True, help="Use the bundled price table only, no API calls.")
@click.option("--self-hosted", "self_hosted", multiple=True, metavar="GPU=USD",
              help="Add your own cluster at your GPU-hour price, e.g. A100-80GB=1.10 (cpu=USD for "
              "a CPU-only spec); repeatable.")
@json_option
@handles_errors
def cost(spec_path: Path | None, requests_per_day: float | None, seconds_per_request: float | None,
         busy_hours_per_day: float | None, cold_start_seconds: float, offline: bool,
         self_hosted: tuple[str, ...], as_json: bool) -> None:
    """What the spec costs on each platform: hardware, price, billing rule, monthly estimate.

    Live prices are used where a platform publishes them and its credentials are set
    (docs/cost.md lists which); --offline uses the bundled table only.
    """
    from portapack.cost import Traffic, estimate, parse_prices, render_text
    from portapack.spec.loader import load_project

    traffic = Traffic(requests_per_day, seconds_per_request, busy_hours_per_day, cold_start_seconds)
    traffic.check()  # before loading the spec: a typo in the flags is the cheaper thing to report
    own = parse_prices(self_hosted)
    report = estimate(load_project(spec_path), traffic, offline=offline, self_hosted=own)
    if as_json:
        emit_json(report.to_json())
        return
    for line in render_text(report):
        color = "yellow" if line.startswith(("warning:", "  !", "!")) else None
        click.secho(line, fg=color, bold=line.startswith("* "))
