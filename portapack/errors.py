"""portapack's error hierarchy: every user-facing failure is one of these.

The CLI turns them into a red message and an exit code; nothing else reaches the user
as a traceback.
"""

from __future__ import annotations

from dataclasses import dataclass


class PortapackError(Exception):
    """Base class. ``exit_code`` is what the CLI exits with."""

    exit_code = 1
    label = "error"


@dataclass(frozen=True)
class Problem:
    """One thing wrong with the user's input: where, what, and how to fix it."""

    where: str  # "portapack.yaml:12 resources.gpu" or "predict.py:7"
    message: str

    def __str__(self) -> str:
        return f"{self.where}: {self.message}" if self.where else self.message


class SpecError(PortapackError):
    """The spec or the predictor is invalid. Carries every problem found, not just the first."""

    exit_code = 2
    label = "invalid spec"

    def __init__(self, problems: list[Problem] | Problem | str):
        if isinstance(problems, str):
            problems = [Problem("", problems)]
        elif isinstance(problems, Problem):
            problems = [problems]
        self.problems = list(problems)
        super().__init__("\n".join(str(p) for p in self.problems))


class BuildError(PortapackError):
    """A build could not be written (output dir conflicts, strict mode, file collisions)."""


class TargetError(PortapackError):
    """A target name or target option is not known."""

    exit_code = 2
