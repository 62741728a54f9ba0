"""What a target knows about its own platform's projects: the interface of ``portapack import``.

A target that can read its platform's projects names an :class:`Importer` subclass as
``Target.importer`` (``".importer:CogImporter"``). :meth:`Importer.convert` reads a project into
an :class:`~portapack.importing.base.Imported` without running it; the other methods let
``import --verify`` run the ORIGINAL under its platform's own local runtime, so the import's
outputs can be compared with the original's. The core never asks which platform it has.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

if TYPE_CHECKING:
    from portapack.importing.base import Imported
    from portapack.proof.case_results import CaseResult
    from portapack.proof.runtimes.base import Outcome, Runtime
    from portapack.spec.loader import Project
    from portapack.spec.server import HttpExample


class Importer:
    """Reads one platform's projects; subclasses live in ``portapack/targets/<name>/importer/``."""

    # The original takes the whole request as one dict (an import gives it one dict input).
    one_dict_request: ClassVar[bool] = False
    # The original's image installs packages listed outside requirements.txt (cog.yaml's
    # python_packages, Dockerfile pip lines): verify writes them to requirements.txt for it.
    requirements_from_spec: ClassVar[bool] = False
    # Folders the platform's own tools write inside a project (never copied for a verify run).
    tool_dirs: ClassVar[frozenset[str]] = frozenset()

    def convert(self, src: Path, *, gpu: str | None = None) -> Imported:
        """Read the project in ``src`` (never run it) into an :class:`Imported`."""
        raise NotImplementedError

    def original_runtime(self, copy: Path, env: dict[str, str]) -> Runtime:
        """The platform's local runtime for the original project (a copy of it, in ``copy``)."""
        raise NotImplementedError

    def original_env(self, project: Project) -> dict[str, str]:
        """Environment the platform's image would add for the original (beyond the spec's env)."""
        return {}

    def original_inputs(self, inputs: dict[str, Any], secrets: dict[str, str]) -> dict[str, Any]:
        """An example's inputs as the original takes them."""
        from portapack.importing.typed import DICT_INPUT

        if self.one_dict_request and set(inputs) == {DICT_INPUT}:
            return inputs[DICT_INPUT]  # the single dict input is the original's whole request
        return inputs

    def call_original(self, runtime: Runtime, inputs: dict[str, Any], streaming: bool) -> Outcome:
        """One example on the original's runtime."""
        return runtime.predict(inputs)

    def server_expectations(self, src: Path, project: Project, work: Path,
                            record: Callable[[CaseResult], None]) -> list[HttpExample] | None:
        """For a ``server:`` import: run the original server and return its answers as the
        examples' expectations (None if it did not run). Only importers of server projects
        implement it."""
        raise NotImplementedError(f"{type(self).__name__} imports no server projects")
