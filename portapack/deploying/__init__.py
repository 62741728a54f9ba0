"""``portapack deploy``: take a built artifact to its platform."""

from __future__ import annotations

from pathlib import Path

from portapack.building.builder import build
from portapack.deploying.base import Deployer, DeployError, DeployOptions, DeployResult, Plan, PreflightError
from portapack.spec.loader import Project, load_project


def deployer_for(target: str, project: Project, out: Path, options: DeployOptions) -> Deployer:
    from portapack.targets import get_target

    chosen = get_target(target)  # an unknown name lists the registered ones
    return chosen.deployer_class()(project, Path(out) / chosen.name, options)


def deploy(spec: str | Path | Project | None, target: str, out: str | Path = "build", *,
           dry_run: bool = False, rebuild: bool = False,
           options: DeployOptions | None = None) -> DeployResult | Plan:
    """Deploy one target. With ``dry_run``, return the :class:`Plan` and touch nothing remote.

    Raises :class:`PreflightError` (nothing done) or :class:`DeployError` (what was done and
    what was not).
    """
    from portapack.targets import canonical_name

    target = canonical_name(target)  # "replicate" deploys the cog target
    out = Path(out).resolve()
    project = spec if isinstance(spec, Project) else load_project(spec, exclude=(out,))
    if rebuild:  # local only: fine in a dry run too
        build(project, [target], out)
    deployer = deployer_for(target, project, out, options or DeployOptions())
    if dry_run:  # a plan needs no build: building is then its first step
        plan = deployer.plan()
        first = deployer.build_step()
        if first:
            plan.steps.insert(0, first)
        plan.problems = deployer.check_platform()
        from portapack.cost import price_line  # the bundled table: a dry run makes no network call

        price = price_line(project, target)
        if price:
            plan.settings["price"] = price
        return plan
    deployer.preflight()
    result = deployer.apply(deployer.plan())
    from portapack.deploying.record import write_record

    # For `portapack call` / Client.from_deploy: what was created, where.
    write_record(out, target, {**result.to_json(), "server": project.spec.server is not None})
    return result


__all__ = ["DeployError", "DeployOptions", "DeployResult", "Plan", "PreflightError",
           "deploy"]
