"""A linear model in numpy; its weights file is at /weights/linear/model.npz on every target."""

import os
from pathlib import Path
from typing import Annotated

import numpy as np
from pydantic import Field

WEIGHTS = Path(os.environ.get("LINEAR_WEIGHTS", "/weights/linear"))


class Predictor:
    def load(self) -> None:
        data = np.load(WEIGHTS / "model.npz")
        self.coef = data["coef"]
        self.intercept = float(data["intercept"])

    def predict(
        self,
        features: Annotated[
            list[float], Field(min_length=3, max_length=3, description="Three feature values")
        ],
        round_to: Annotated[int, Field(ge=0, le=6)] = 3,
    ) -> dict:
        x = np.asarray(features, dtype=float)
        score = float(x @ self.coef + self.intercept)
        return {"score": round(score, round_to), "positive": score > 0}
