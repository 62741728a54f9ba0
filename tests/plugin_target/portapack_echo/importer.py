"""The echo plugin's importer: an "echo project" is a folder with ``echo.json`` naming the
predictor (``{"name": ..., "predictor": "predict.py:Model", "examples": [{...}]}``) beside
its code. It shows the interface a plugin implements for ``portapack import echo SRC``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from portapack.errors import Problem, SpecError
from portapack.importing.base import Imported, slug, user_files
from portapack.importing.importer import Importer


class EchoImporter(Importer):
    def convert(self, src: Path, *, gpu: str | None = None) -> Imported:
        try:
            config: dict[str, Any] = json.loads((src / "echo.json").read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise SpecError(Problem(f"{src / 'echo.json'}", f"not an echo project: {exc}")) from None
        rel, _, cls = config["predictor"].partition(":")
        spec = {"name": slug(config.get("name") or src.name), "python": "3.11",
                "predictor": config["predictor"],
                "examples": [{"input": e} for e in config.get("examples", [])]}
        files = user_files(src, {"echo.json", rel})
        imported = Imported("echo", spec, rel, (src / rel).read_text(encoding="utf-8"), copies=files)
        if gpu:
            imported.note("--gpu", "the echo server runs on CPU only", lost=True)
        imported.note("echo.json", f"predictor {cls} kept as written")
        return imported
