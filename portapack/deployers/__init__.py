"""``portapack deploy``: take a built artifact to its platform."""

from __future__ import annotations

from pathlib import Path

from ..builder import build
from ..errors import TargetError
from ..loader import Project, load_project
from .base import Deployer, DeployError, DeployOptions, DeployResult, Plan, PreflightError
from .cog import CogDeployer
from .modal import ModalDeployer
from .runpod import RunpodDeployer
from .truss import TrussDeployer

DEPLOYERS: dict[str, type[Deployer]] = {
    d.target: d for d in (ModalDeployer, CogDeployer, TrussDeployer, RunpodDeployer)}


def deployer_for(target: str, project: Project, out: Path, options: DeployOptions) -> Deployer:
    try:
        cls = DEPLOYERS[target]
    except KeyError:
        raise TargetError(f"unknown target '{target}'; choose from {', '.join(DEPLOYERS)}") from None
    return cls(project, Path(out) / target, options)


def deploy(spec: str | Path | Project | None, target: str, out: str | Path = "build", *,
           dry_run: bool = False, rebuild: bool = False,
           options: DeployOptions | None = None) -> DeployResult | Plan:
    """Deploy one target. With ``dry_run``, return the :class:`Plan` and touch nothing remote.

    Raises :class:`PreflightError` (nothing done) or :class:`DeployError` (what was done and
    what was not).
    """
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
        return plan
    deployer.preflight()
    return deployer.apply(deployer.plan())


__all__ = ["DEPLOYERS", "DeployError", "DeployOptions", "DeployResult", "Plan", "PreflightError",
           "deploy"]
