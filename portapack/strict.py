"""The pydantic base of every spec model, and the ``targets:`` section built from the registry.

Kept apart from spec.py so a target's options model can subclass :class:`StrictModel`
without importing the spec (which itself asks every registered target for its options).
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, create_model


class StrictModel(BaseModel):
    """Unknown keys are errors (with "did you mean"); values are frozen once validated."""

    model_config = ConfigDict(extra="forbid", frozen=True)


def target_options_model() -> type[StrictModel]:
    """``targets:`` of portapack.yaml: one optional section per registered target, each
    validated by that target's own options model (plugins included)."""
    from .targets import names, target_class

    fields = {}
    for name in names():
        options = target_class(name).options
        fields[name] = (options, Field(default_factory=options,
                                       description=f"Options of the {target_class(name).title} target."))
    model = create_model("TargetOptions", __base__=StrictModel, **fields)  # type: ignore[call-overload]
    model.__doc__ = "Per-platform overrides: the escape hatch."
    return model
