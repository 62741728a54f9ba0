"""A streaming generator: yields one token at a time, like an LLM would."""

from collections.abc import Iterator
from typing import Annotated

from pydantic import Field


class Predictor:
    def load(self) -> None:
        self.separator = " "

    def predict(
        self,
        prompt: Annotated[str, Field(min_length=1, description="Text to echo back, word by word")],
        max_tokens: Annotated[int, Field(ge=1, le=64)] = 16,
        shout: bool = False,
    ) -> Iterator[str]:
        for word in prompt.split()[:max_tokens]:
            yield (word.upper() if shout else word) + self.separator
