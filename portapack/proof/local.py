"""The predictor itself: ``portapack predict`` and the reference side of ``portapack test``.

It runs in its own environment made from the spec's requirements (not portapack's
interpreter), with the spec's ``env``, the exported secrets and the local weights at their
path, exactly as each artifact's runtime sees them; inputs are validated here first.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

from portapack.errors import PortapackError
from portapack.proof.envs import ensure_env
from portapack.proof.runtimes.base import RuntimeFailed
from portapack.proof.runtimes.worker_runtime import WorkerRuntime
from portapack.spec.loader import Project
from portapack.spec.validation import InvalidInput, inputs_validator


class PredictorFailed(PortapackError):
    """The user's load() or predict() raised."""


def missing_module(text: str | None) -> str | None:
    """The module a ``ModuleNotFoundError`` in ``text`` names, if any."""
    found = re.search(r"No module named '([^']+)'", text or "")
    return found.group(1) if found else None


class ReferenceRuntime(WorkerRuntime):
    """The user's class in worker.py's ``reference`` loader, in an env of the spec's
    requirements (plus pydantic, as every artifact has) and nothing else."""

    target = "reference"
    description = "the predictor itself, in an env of the spec's requirements"
    loader = "reference"
    isolated = True

    def __init__(self, project: Project):
        super().__init__(project.root, project=project)

    def prepare(self) -> None:
        assert self.project
        from portapack.targets.artifacts import with_requirements

        # The spec's requirements plus pydantic, which every artifact ships (its Inputs model),
        # so a predictor using Annotated[..., Field(...)] runs here exactly as on the targets.
        listed = with_requirements(self.project, "pydantic>=2")
        requirements = self._log_dir / "requirements.txt"
        requirements.write_text("".join(f"{r}\n" for r in listed), encoding="utf-8")
        self.environment = ensure_env("reference", requirements=requirements)
        self.python = str(self.environment.python)

    def loader_args(self) -> list[str]:
        assert self.project
        info = self.project.predictor
        from portapack.spec.files import helper_path  # file inputs/outputs, numpy, PIL as every artifact does

        return [str(self.project.root), self.project.spec.predictor_file, info.module,
                info.class_name, str(helper_path()), ",".join(info.file_inputs)]


class LocalPredictor:
    """The user's class from the project folder in its own env: load() once, predict many."""

    def __init__(self, project: Project):
        self.project = project
        self.validate = inputs_validator(project.predictor)
        self.runtime: ReferenceRuntime | None = None
        self.failed: ReferenceRuntime | None = None  # the runtime whose load failed (its log)

    def load(self) -> None:
        self.runtime = ReferenceRuntime(self.project)
        try:
            self.runtime.start()
        except RuntimeFailed as exc:
            self.failed, self.runtime = self.runtime, None
            reason = getattr(exc, "reason", None) or str(exc)
            module = missing_module(reason)
            hint = (f" ('{module}' is not installed: add it to the spec's requirements)"
                    if module else "")
            raise PredictorFailed(f"{self.project.spec.predictor} failed to load: {reason}{hint}") from None

    def predict(self, raw: dict[str, Any]) -> Any:
        """Validate, then call predict(); a streaming predictor's items come as an iterator."""
        inputs = self.validate(raw)  # raises InvalidInput
        assert self.runtime, "load() first"
        if self.project.predictor.streaming:
            return self._each(inputs)
        outcome = self.runtime.predict(inputs)
        if not outcome.ok and outcome.error_type == "FileInputError":  # a bad URL / data: URI
            raise InvalidInput(outcome.error or "a file input could not be read")
        if not outcome.ok:
            raise PredictorFailed(f"predict() raised {outcome.error_type or 'an error'}: {outcome.error}")
        if outcome.items is not None:
            return iter(outcome.items)
        return outcome.output

    def _each(self, inputs: dict[str, Any]) -> Iterator[Any]:
        assert self.runtime
        try:
            yield from self.runtime.each(inputs)
        except RuntimeFailed as exc:
            raise PredictorFailed(f"predict() raised {exc} while streaming") from None

    def predict_all(self, raw: dict[str, Any]) -> Any:
        """Like predict(), but a stream is collected into a list."""
        result = self.predict(raw)
        return list(result) if isinstance(result, Iterator) else result

    def close(self) -> None:
        if self.runtime:
            self.runtime.stop()
            self.runtime = None

    def __enter__(self) -> LocalPredictor:
        self.load()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __del__(self) -> None:
        self.close()


def parse_cli_inputs(project: Project, pairs: tuple[str, ...]) -> dict[str, Any]:
    """``-i name=value`` pairs -> a request, converting each value to its input's type."""
    kinds = {i.name: i for i in project.predictor.inputs}
    out: dict[str, Any] = {}
    for pair in pairs:
        name, sep, text = pair.partition("=")
        if not sep:
            raise InvalidInput(f"'{pair}': write inputs as name=value")
        spec = kinds.get(name)
        if spec is not None and spec.kind == "path":  # -i image=@photo.png: a data: URI
            from portapack.spec.files import cli_file_input

            out[name] = cli_file_input(name, text)
            continue
        out[name] = text if spec is None else _convert(spec.kind, name, text)
    return out


def _convert(kind: str, name: str, text: str) -> Any:
    try:
        if kind == "int":
            return int(text)
        if kind == "float":
            return float(text)
        if kind == "bool":
            low = text.lower()
            if low in ("true", "1", "yes"):
                return True
            if low in ("false", "0", "no"):
                return False
            raise ValueError
        if kind in ("list", "dict"):
            return json.loads(text)
    except ValueError:
        raise InvalidInput(f"input '{name}': {text!r} is not a valid {kind}") from None
    return text
