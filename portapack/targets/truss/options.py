"""Options of the Truss target: ``targets.truss:`` in portapack.yaml."""

from __future__ import annotations

from pydantic import Field

from portapack.spec.strict import StrictModel


class TrussOptions(StrictModel):
    accelerator: str | None = Field(
        None, description="Baseten accelerator string, overriding the GPU mapping."
    )
    promote: bool = Field(False, description="Promote the pushed deployment to production.")
    base_image: str | None = Field(
        None, pattern=r"^[\w.\-/:@]+$",
        description="server: projects only: the image the server runs in (base_image.image), "
        "e.g. vllm/vllm-openai:v0.11.0.",
    )
