"""Options of the Cog target: ``targets.cog:`` in portapack.yaml."""

from __future__ import annotations

from pydantic import Field

from portapack.spec.strict import StrictModel


class CogOptions(StrictModel):
    hardware: str | None = Field(
        None, description="Replicate hardware SKU for the deployment, overriding the GPU mapping."
    )
    owner: str | None = Field(
        None, pattern=r"^[a-z0-9][a-z0-9_-]*$",
        description="Replicate user or organization that owns the model (r8.im/OWNER/NAME).",
    )
