"""Several outputs at once: a list of files, bytes and a numpy number (no Pillow needed)."""

import tempfile
from pathlib import Path
from typing import Annotated

import numpy as np
from pydantic import Field


class Predictor:
    def load(self) -> None:
        pass

    def predict(self, text: str, copies: Annotated[int, Field(ge=1, le=5)] = 2) -> dict:
        folder = Path(tempfile.mkdtemp())
        files = []
        for i in range(copies):
            part = folder / f"part-{i}.txt"
            part.write_text(f"{i}: {text}\n", encoding="utf-8")
            files.append(part)
        # Each Path and the bytes become a file output; np.int64 a JSON number.
        return {"files": files, "summary": text.encode(), "count": np.int64(copies)}
