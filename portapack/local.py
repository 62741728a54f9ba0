"""The predictor itself, loaded in this process: ``portapack predict`` and the reference
side of ``portapack test``."""

from __future__ import annotations

import importlib.util
import json
import os
import sys
from collections.abc import Iterator
from typing import Any

from .errors import PortapackError
from .loader import Project
from .validation import InvalidInput, inputs_validator


class PredictorFailed(PortapackError):
    """The user's load() or predict() raised."""


class LocalPredictor:
    """Import the user's class from the project folder, load() it once, predict many times."""

    def __init__(self, project: Project):
        self.project = project
        self.validate = inputs_validator(project.predictor)
        self.instance: Any = None

    def load(self) -> None:
        link_weights(self.project)
        root = str(self.project.root)
        if root not in sys.path:
            sys.path.insert(0, root)
        path = self.project.root / self.project.spec.predictor_file
        name = self.project.predictor.module
        try:
            spec = importlib.util.spec_from_file_location(name, path)
            module = importlib.util.module_from_spec(spec)  # type: ignore[arg-type]
            sys.modules[name] = module
            spec.loader.exec_module(module)  # type: ignore[union-attr]
            self.instance = getattr(module, self.project.predictor.class_name)()
            self.instance.load()
        except Exception as exc:
            raise PredictorFailed(f"{self.project.spec.predictor} failed to load: "
                                  f"{type(exc).__name__}: {exc}") from exc

    def predict(self, raw: dict[str, Any]) -> Any:
        """Validate, then call predict(); a streaming predictor returns its iterator."""
        inputs = self.validate(raw)  # raises InvalidInput
        try:
            return self.instance.predict(**inputs)
        except Exception as exc:
            raise PredictorFailed(f"predict() raised {type(exc).__name__}: {exc}") from exc

    def predict_all(self, raw: dict[str, Any]) -> Any:
        """Like predict(), but a stream is collected into a list."""
        result = self.predict(raw)
        if isinstance(result, Iterator):
            try:
                return list(result)
            except Exception as exc:
                raise PredictorFailed(f"predict() raised {type(exc).__name__} while streaming: "
                                      f"{exc}") from exc
        return result


def link_weights(project: Project) -> None:
    """Local weights at their spec path, as every target arranges it (a symlink here)."""
    from .targets.artifacts import local_weights

    for w in local_weights(project):
        source = project.root / w["source"]
        dest = w["remote"]
        if os.path.islink(dest) and not os.path.exists(dest):
            os.unlink(dest)
        if not os.path.exists(dest):
            os.makedirs(os.path.dirname(dest), exist_ok=True)
            os.symlink(source, dest)


def parse_cli_inputs(project: Project, pairs: tuple[str, ...]) -> dict[str, Any]:
    """``-i name=value`` pairs -> a request, converting each value to its input's type."""
    kinds = {i.name: i for i in project.predictor.inputs}
    out: dict[str, Any] = {}
    for pair in pairs:
        name, sep, text = pair.partition("=")
        if not sep:
            raise InvalidInput(f"'{pair}': write inputs as name=value")
        spec = kinds.get(name)
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
