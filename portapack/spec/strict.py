"""The pydantic base of every spec model, and the ``targets:`` section built from the options
each registered target supplies (:mod:`.options`): the spec never imports a target."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, create_model

from portapack.spec.options import target_options


class StrictModel(BaseModel):
    """Unknown keys are errors (with "did you mean"); values are frozen once validated."""

    model_config = ConfigDict(extra="forbid", frozen=True)


def target_options_model() -> type[StrictModel]:
    """``targets:`` of portapack.yaml: one optional section per registered target, each
    validated by that target's own options model (plugins included)."""
    fields = {}
    for name, (options, title) in target_options().items():
        field = Field(default_factory=options, description=f"Options of the {title} target.")
        fields[name] = (options, field)
    model = create_model("TargetOptions", __base__=StrictModel, **fields)  # type: ignore[call-overload]
    model.__doc__ = "Per-platform overrides: the escape hatch."
    return model
