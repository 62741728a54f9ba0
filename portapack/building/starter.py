"""``portapack init``: a starter spec and predictor that build and run as they are."""

from __future__ import annotations

import re
from pathlib import Path

from portapack.errors import BuildError
from portapack.spec.loader import SPEC_FILENAME

# The starter files are templates/init/: what `init` writes is read as it will be written.
STARTER = {SPEC_FILENAME: "init/portapack.yaml.j2", "predict.py": "init/predict.py.j2"}


def write_starter(directory: Path, name: str | None = None) -> list[Path]:
    """Write portapack.yaml and predict.py into ``directory``; refuse to overwrite either."""
    directory = Path(directory)
    name = name or _slug(directory.resolve().name)
    if not re.fullmatch(r"[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?", name):
        raise BuildError(f"'{name}' is not a valid model name; pass --name with lowercase "
                         "letters, digits and '-'")
    from portapack.building.render import render

    files = {directory / file: render(template, {"name": name}) for file, template in STARTER.items()}
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
