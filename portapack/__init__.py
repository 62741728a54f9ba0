"""portapack: one model spec, every serverless GPU platform.

The public API for build scripts::

    import portapack
    project = portapack.load_project("examples/text-stats")
    result = portapack.build(project, targets="all", out="build")
    for b in result.builds:
        print(b.target, b.path, b.notes)
    report = portapack.test(project, targets=["truss"], out="build")
    plan = portapack.deploy(project, "runpod", out="build", dry_run=True)

Names are imported on first use (PEP 562), so ``import portapack`` and the CLI's start-up
pay only for what a command uses: no pydantic, jinja or platform SDK until needed.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

from .spec.options import supply_target_options

__version__ = "0.1.0"

# public name -> module that defines it
_LAZY = {
    "BuildError": ".errors",
    "PortapackError": ".errors",
    "Problem": ".errors",
    "SpecError": ".errors",
    "TargetError": ".errors",
    "BuildResult": ".building.builder",
    "TargetBuild": ".building.builder",
    "Project": ".spec.loader",
    "load_project": ".spec.loader",
    "Note": ".targets",
    "TARGETS": ".targets",
    "TestReport": ".proof.case_results",
    "AsyncClient": ".calling",
    "CallError": ".calling",
    "CallTimeout": ".calling",
    "Client": ".calling",
}

if TYPE_CHECKING:  # for type checkers and IDEs; at run time these load lazily
    from portapack.building.builder import BuildResult, TargetBuild
    from portapack.calling import AsyncClient, CallError, CallTimeout, Client
    from portapack.errors import BuildError, PortapackError, Problem, SpecError, TargetError
    from portapack.proof.case_results import TestReport
    from portapack.spec.loader import Project, load_project
    from portapack.targets import TARGETS, Note


def _target_options() -> Any:
    return import_module(".targets", __name__).options_models()


# The composition root: the spec validates `targets:` with the options models the target
# registry supplies (spec/options.py), so neither imports the other.
supply_target_options(_target_options)


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'portapack' has no attribute {name!r}")
    value = getattr(import_module(module, __name__), name)
    globals()[name] = value  # later look-ups skip this function
    return value


def __dir__() -> list[str]:
    return sorted(__all__)


def build(*args: Any, **kwargs: Any) -> Any:
    """Build targets from a spec into ``out/<target>/``; returns a :class:`BuildResult`. See
    :func:`portapack.building.builder.build`."""
    from portapack.building.builder import build as _build

    return _build(*args, **kwargs)


def deploy(*args: Any, **kwargs: Any) -> Any:
    """Deploy one target (or plan it with ``dry_run=True``); see :func:`portapack.deploying.deploy`."""
    from portapack.deploying import deploy as _deploy

    return _deploy(*args, **kwargs)


def test(*args: Any, **kwargs: Any) -> Any:
    """Run the spec's examples in-process and under each target's local runtime; returns a
    :class:`TestReport`. See :func:`portapack.proof.testing.test`."""
    from portapack.proof.testing import test as _test

    return _test(*args, **kwargs)


test.__test__ = False  # type: ignore[attr-defined]  # not a pytest test when imported into one

__all__ = [
    "AsyncClient",
    "BuildError",
    "CallError",
    "CallTimeout",
    "Client",
    "BuildResult",
    "Note",
    "PortapackError",
    "Problem",
    "Project",
    "SpecError",
    "TARGETS",
    "TargetBuild",
    "TargetError",
    "TestReport",
    "build",
    "deploy",
    "load_project",
    "test",
]
