"""Every input kind the adapters write: it echoes its inputs, the spec's env, the weights."""

import json
import os
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import Field

WEIGHTS = Path("/weights/kitchen-sink")


class Predictor:
    def load(self) -> None:
        self.table = json.loads((WEIGHTS / "table.json").read_text(encoding="utf-8"))

    def predict(
        self,
        params: Annotated[dict[str, Any], Field(description="Any JSON object, echoed back")],
        offset: float = -0.0,
        scale: Annotated[float, Field(ge=-1e300, le=1e300)] = 1.5,
        tags: list[str] | None = None,
        level: Literal[1, 2, 3] = 2,
        motto: str = "Ünïcödé ✓ 世界 — a default long enough to be cut into parts by every generator that writes it out: it has to be longer than one line of a hundred and ten columns.",  # noqa: E501
        note: Annotated[
            str,
            Field(
                max_length=200,
                description="A unicode note (é, ✓, 世界) with a description long enough that "
                "the generated code has to cut it into parts to keep its lines short.",
            ),
        ] = "héllo ✓",
    ) -> dict:
        return {
            "params": params,
            "offset": offset,
            "scale": scale,
            "tags": tags,
            "level": level,
            "motto": motto,
            "note": note,
            "weights": self.table,
            "quoted": os.environ.get("QUOTED"),
            "multiline": os.environ.get("MULTILINE"),
            "token_set": os.environ.get("KS_TOKEN") is not None,
        }
