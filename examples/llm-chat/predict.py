"""A GPU-sized chat model (built, not run here): transformers on an A100, streaming tokens."""

import os
from collections.abc import Iterator
from threading import Thread
from typing import Annotated

from pydantic import Field

WEIGHTS = "/weights/qwen"


class Predictor:
    def load(self) -> None:
        # Heavy imports live here, so `portapack build` never needs torch installed.
        import torch
        from transformers import AutoModelForCausalLM, AutoTokenizer

        self.torch = torch
        self.tokenizer = AutoTokenizer.from_pretrained(WEIGHTS, token=os.environ.get("HF_TOKEN"))
        self.model = AutoModelForCausalLM.from_pretrained(
            WEIGHTS, torch_dtype=torch.bfloat16, device_map="cuda"
        )

    def predict(
        self,
        prompt: Annotated[str, Field(min_length=1, max_length=8000, description="User message")],
        max_new_tokens: Annotated[int, Field(ge=1, le=2048)] = 256,
        temperature: Annotated[float, Field(ge=0.0, le=2.0)] = 0.7,
        system: str | None = None,
    ) -> Iterator[str]:
        from transformers import TextIteratorStreamer

        messages = ([{"role": "system", "content": system}] if system else []) + [
            {"role": "user", "content": prompt}
        ]
        ids = self.tokenizer.apply_chat_template(
            messages, add_generation_prompt=True, return_tensors="pt"
        ).to("cuda")
        streamer = TextIteratorStreamer(self.tokenizer, skip_prompt=True, skip_special_tokens=True)
        kwargs = dict(input_ids=ids, max_new_tokens=max_new_tokens, streamer=streamer,
                      do_sample=temperature > 0, temperature=temperature or None)
        Thread(target=self.model.generate, kwargs=kwargs, daemon=True).start()
        yield from streamer
