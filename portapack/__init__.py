"""portapack: one model spec, every serverless GPU platform.

The public API for build scripts::

    import portapack
    project = portapack.load_project("examples/text-stats")
    result = portapack.build(project, targets="all", out="build")
    for b in result.builds:
        print(b.target, b.path, b.notes)
"""

__version__ = "0.1.0"

from .build import BuildResult, TargetBuild, build  # noqa: E402
from .errors import BuildError, PortapackError, Problem, SpecError, TargetError  # noqa: E402
from .loader import Project, load_project  # noqa: E402
from .targets import TARGETS, Note  # noqa: E402


def deploy(*args, **kwargs):
    """Deploy one target; see :func:`portapack.deployers.deploy` (imported lazily)."""
    from .deployers import deploy as _deploy

    return _deploy(*args, **kwargs)


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
    "build",
    "deploy",
    "load_project",
]
