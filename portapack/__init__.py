"""portapack: one model spec, every serverless GPU platform.

The public API for build scripts::

    import portapack
    project = portapack.load_project("examples/text-stats")
    result = portapack.build(project, targets="all", out="build")
    for b in result.builds:
        print(b.target, b.path, b.notes)
    report = portapack.test(project, targets=["truss"], out="build")
    plan = portapack.deploy(project, "runpod", out="build", dry_run=True)
"""

__version__ = "0.1.0"

from .build import BuildResult, TargetBuild, build  # noqa: E402
from .errors import BuildError, PortapackError, Problem, SpecError, TargetError  # noqa: E402
from .loader import Project, load_project  # noqa: E402
from .targets import TARGETS, Note  # noqa: E402
from .testing import TestReport  # noqa: E402


def deploy(*args, **kwargs):
    """Deploy one target; see :func:`portapack.deployers.deploy` (imported lazily)."""
    from .deployers import deploy as _deploy

    return _deploy(*args, **kwargs)


def test(*args, **kwargs):
    """Run the spec's examples in-process and under each target's local runtime; returns a
    TestReport. See :func:`portapack.testing.test` (imported lazily)."""
    from .testing import test as _test

    return _test(*args, **kwargs)


test.__test__ = False  # a library function, not a pytest test when imported into one

__all__ = [
    "BuildError",
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
