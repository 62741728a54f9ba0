"""The platforms' own documents the tests check against, read from ../shared/schemas.

The repository commits no third-party document: they sit in ``shared/schemas`` beside the
repository, on every developer machine and in CI. Where each comes from:

- ``cog-config-schema-v1.0.json``: cog.yaml's JSON schema (Draft 7), Cog's
  ``pkg/config/data/config_schema_v1.0.json`` (github.com/replicate/cog).
- ``replicate-openapi.json``: Replicate's HTTP API, https://api.replicate.com/openapi.json.
- ``baseten-management-openapi.json``: Baseten's management API (api.baseten.co).
- ``runpod-rest-v2-openapi.json``: RunPod's REST API v2, from RunPod's docs repository.

A test asks for a document when it runs (never at import), so a missing one skips only the
tests that need it, with the reason. Under CI (the ``CI`` variable set) a missing document
fails instead: CI has shared/ beside the repository, and a skip there would hide a regression.
"""

from __future__ import annotations

import functools
import json
import os
from pathlib import Path
from typing import Any

import pytest

SHARED_SCHEMAS = Path(__file__).resolve().parent.parent.parent / "shared" / "schemas"


def vendor_document(name: str) -> Path:
    """The path of the platform document ``name`` in ../shared/schemas, or skip (fail in CI)."""
    path = SHARED_SCHEMAS / name
    if not path.is_file():
        reason = (f"{name} not found in {SHARED_SCHEMAS} (the platforms' documents sit in "
                  "shared/schemas beside the repository)")
        if os.environ.get("CI"):
            pytest.fail(f"CI is set but {reason}")
        pytest.skip(reason)
    return path


@functools.cache
def vendor_json(name: str) -> Any:
    """The JSON document ``name``, parsed once (a skip or failure is not cached)."""
    return json.loads(vendor_document(name).read_text(encoding="utf-8"))
