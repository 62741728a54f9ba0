"""The predictor's signature: read statically (:mod:`.reader`, :mod:`.annotations`) into
:class:`InputSpec` / :class:`PredictorInfo` (:mod:`.contract`), and the pydantic ``Inputs``
model built from it (:mod:`.model`), from which every input rule elsewhere is derived.

The model is imported lazily (it needs pydantic and jinja): reading a predictor whose inputs
have no defaults, or listing targets, does not load it.
"""

from __future__ import annotations

from portapack.spec.signature.annotations import FIELD_KEYS, SCALARS
from portapack.spec.signature.contract import REQUIRED, InputSpec, PredictorInfo
from portapack.spec.signature.reader import KINDS, RESERVED_NAMES, read_predictor

__all__ = ["FIELD_KEYS", "KINDS", "REQUIRED", "RESERVED_NAMES", "SCALARS", "InputSpec",
           "PredictorInfo", "read_predictor"]
