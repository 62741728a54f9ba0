"""What :class:`~portapack.calling.client.Client` and
:class:`~portapack.calling.aio.AsyncClient` share: choosing the transport the target names,
settings, the deploy record, inputs in and file outputs' folder. No I/O here."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

from portapack.calling.driver import Settings
from portapack.calling.protocol import Transport
from portapack.calling.values import encode_inputs, file_urls

if TYPE_CHECKING:
    from portapack.spec.loader import Project


def make_transport(target: str, url: str | None, *, endpoint: str | None, token: str | None,
                   local: bool, project: Project | None) -> Transport:
    """The transport the target names (``Target.client``)."""
    from portapack.targets import get_target

    chosen = get_target(target)
    return chosen.client_class()(url, endpoint=endpoint, token=token, local=local,
                                 predictor=project.predictor if project else None,
                                 model=project.spec.name if project else None)


class _Base:
    """Construction shared by :class:`Client` and :class:`AsyncClient`."""

    def __init__(self, target: str | Transport, url: str | None = None, *,
                 endpoint: str | None = None, token: str | None = None, local: bool = False,
                 project: Project | str | Path | None = None, output_dir: str | Path | None = None,
                 **settings: Any):
        if project is not None and not hasattr(project, "spec"):
            from portapack.spec.loader import load_project

            project = load_project(project)
        self.project = project
        self.transport = target if isinstance(target, Transport) else make_transport(
            target, url, endpoint=endpoint, token=token, local=local, project=project)
        self.settings = Settings(**settings)
        self._output_dir = Path(output_dir) if output_dir else None

    @classmethod
    def from_deploy(cls, project: Project | str | Path | None, target: str, *,
                    out: str | Path = "build", local: bool = False, **kwargs: Any):
        """A client for what ``portapack deploy`` (or, with ``local``, ``portapack serve``)
        last recorded for ``target`` under ``out``."""
        from portapack.deploying.record import read_record
        from portapack.spec.loader import load_project

        if project is None or not hasattr(project, "spec"):
            project = load_project(project)
        record = read_record(Path(out), target, local=local)
        return cls(record["target"], record.get("url"), endpoint=record.get("endpoint_id"),
                   local=local, project=project, **kwargs)

    @property
    def output_dir(self) -> Path:
        if self._output_dir is None:
            self._output_dir = Path(tempfile.mkdtemp(prefix="portapack-output-"))
        return self._output_dir

    def _inputs(self, given: dict[str, Any] | None, kwargs: dict[str, Any]) -> dict[str, Any]:
        inputs = {**(given or {}), **kwargs}
        return encode_inputs(inputs, self.transport.predictor, self.transport.name)

    def _downloads(self, output: Any) -> list[str]:
        return file_urls(output, self.transport.predictor)

    def openai_base(self) -> str | None:
        """The OpenAI-compatible base URL of a ``server:`` deployment (None where the platform
        has none)."""
        return self.transport.openai_base()
