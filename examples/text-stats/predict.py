"""A pure-Python sentiment and text-statistics model: no dependencies beyond pydantic."""

from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field

HERE = Path(__file__).parent


class Predictor:
    def load(self) -> None:
        lexicon = (HERE / "assets" / "lexicon.txt").read_text(encoding="utf-8").split("\n")
        self.scores = {}
        for line in lexicon:
            if line.strip() and not line.startswith("#"):
                word, score = line.split()
                self.scores[word] = int(score)

    def predict(
        self,
        text: Annotated[str, Field(min_length=1, max_length=5000, description="Text to analyse")],
        top_k: Annotated[int, Field(ge=1, le=10, description="How many frequent words")] = 3,
        case: Literal["lower", "keep"] = "lower",
        stopwords: list[str] | None = None,
    ) -> dict:
        words = [w.strip(".,!?;:\"'()") for w in text.split()]
        words = [w.lower() if case == "lower" else w for w in words if w]
        score = sum(self.scores.get(w.lower(), 0) for w in words)
        skip = set(stopwords or [])
        counts: dict[str, int] = {}
        for w in words:
            if w not in skip:
                counts[w] = counts.get(w, 0) + 1
        top = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:top_k]
        label = "positive" if score > 0 else "negative" if score < 0 else "neutral"
        return {"label": label, "score": score, "words": len(words), "top": [w for w, _ in top]}
