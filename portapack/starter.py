"""``portapack init``: a starter spec and predictor that build and run as they are."""

from __future__ import annotations

import re
from pathlib import Path

from .errors import BuildError
from .loader import SPEC_FILENAME

SPEC = """\
# portapack.yaml: one spec, every platform. Reference: portapack's README.
name: {name}
predictor: predict.py:Predictor
python: "3.11"
requirements:
  - pydantic>=2
resources:
  cpu: 1
  memory: 1Gi
  # gpu: A100-80GB        # run 'portapack targets' for the GPU names
scaling:
  min_replicas: 0
  max_replicas: 1
  concurrency: 1
  timeout: 60
examples:
  - input: {{text: "hello world"}}
    output: {{text: "HELLO WORLD", length: 11}}
"""

PREDICTOR = '''\
"""A plain predictor: no platform imports. load() runs once, predict() per request."""

from typing import Annotated, Literal

from pydantic import Field


class Predictor:
    def load(self) -> None:
        # Load weights here (read them from a `weights:` path or files beside this one).
        self.ready = True

    def predict(
        self,
        text: Annotated[str, Field(min_length=1, max_length=1000, description="Input text")],
        style: Literal["upper", "lower"] = "upper",
    ) -> dict:
        out = text.upper() if style == "upper" else text.lower()
        return {"text": out, "length": len(text)}
'''


def write_starter(directory: Path, name: str | None = None) -> list[Path]:
    """Write portapack.yaml and predict.py into ``directory``; refuse to overwrite either."""
    directory = Path(directory)
    name = name or _slug(directory.resolve().name)
    if not re.fullmatch(r"[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?", name):
        raise BuildError(f"'{name}' is not a valid model name; pass --name with lowercase "
                         "letters, digits and '-'")
    files = {directory / SPEC_FILENAME: SPEC.format(name=name), directory / "predict.py": PREDICTOR}
    existing = [str(p) for p in files if p.exists()]
    if existing:
        raise BuildError(f"{', '.join(existing)} already exists; init never overwrites files")
    directory.mkdir(parents=True, exist_ok=True)
    for path, text in files.items():
        path.write_text(text, encoding="utf-8")
    return list(files)


def _slug(text: str) -> str:
    slug = re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:63].strip("-")
    return slug or "my-model"
