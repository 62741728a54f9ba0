"""The spec features a target may be unable to express, and which ones a spec asks for.

A target declares what it cannot do as data, ``unsupported = {Feature.X: "reason"}``
(:class:`.base.Target`); :func:`requested_features` says what a project uses, and
``Target.notes()`` reports the overlap. Both are importable from :mod:`.base` too.
"""

from __future__ import annotations

import enum
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pydantic import BaseModel

    from portapack.spec.loader import Project


class Feature(enum.Enum):
    """Spec features a target may be unable to express."""

    GPU = "resources.gpu"
    MULTI_GPU = "resources.gpu count"
    CPU = "resources.cpu"
    MEMORY = "resources.memory"
    MIN_REPLICAS = "scaling.min_replicas"
    MAX_REPLICAS = "scaling.max_replicas"
    IDLE_TIMEOUT = "scaling.idle_timeout"
    CONCURRENCY = "scaling.concurrency"
    TIMEOUT = "scaling.timeout"
    SECRETS = "secrets"
    DICT_INPUT = "dict inputs"
    WEIGHTS_S3 = "weights from s3://"
    WEIGHTS_GS = "weights from gs://"


def asked_for(section: BaseModel, field: str) -> bool:
    """The user set ``field`` to something other than its default. A default written out (as
    the starter spec does) asks for nothing: a note about it would apply to every project."""
    return field in section.model_fields_set and \
        getattr(section, field) != type(section).model_fields[field].get_default(call_default_factory=True)


def requested_features(project: Project) -> set[Feature]:
    """The features this spec actually asks for (fields the user set, inputs it declares)."""
    spec = project.spec
    used: set[Feature] = set()
    if spec.resources.gpu:
        used.add(Feature.GPU)
        if spec.resources.gpu.count > 1:
            used.add(Feature.MULTI_GPU)
    for feature in Feature:
        section, _, field = feature.value.partition(".")
        if section in ("resources", "scaling") and feature is not Feature.GPU \
                and asked_for(getattr(spec, section), field):
            used.add(feature)
    if spec.secrets:
        used.add(Feature.SECRETS)
    if project.predictor and any(i.kind == "dict" for i in project.predictor.inputs):
        used.add(Feature.DICT_INPUT)
    schemes = {w.scheme for w in spec.weights}
    used |= {f for s, f in (("s3", Feature.WEIGHTS_S3), ("gs", Feature.WEIGHTS_GS)) if s in schemes}
    return used


__all__ = ["Feature", "asked_for", "requested_features"]
