"""text-stats as a plain Cog runner (what cog.run's Python reference shows), for the bench."""

# Input(...) as a default is Cog's own idiom.
# ruff: noqa: B008

from cog import BaseRunner, Input
from predict import Predictor


class Runner(BaseRunner):
    def setup(self) -> None:
        self.model = Predictor()
        self.model.load()

    def run(
        self,
        text: str = Input(description="Text to analyse"),
        top_k: int = Input(default=3),
        case: str = Input(default="lower"),
        stopwords: list[str] | None = Input(default=None),
    ) -> dict:
        return self.model.predict(text=text, top_k=top_k, case=case, stopwords=stopwords)
