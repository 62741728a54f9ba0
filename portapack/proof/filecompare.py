"""Comparing file outputs by content, for ``portapack test``: bytes, or pixels within a
tolerance for images (Pillow, when installed); a one-line description of any difference.

A file output is a data: URI (Cog, Modal, Truss, RunPod without a bucket) or an http(s) URL
(RunPod's presigned bucket URL). An expectation is a data: URI (an example's ``"@file"``,
inlined at load) or ``{"sha256": "<hex>"}``.
"""

from __future__ import annotations

import hashlib
import io
import os
import urllib.request
from typing import Any

from portapack.spec.files import decode_data_uri

PIXEL_TOLERANCE = int(os.environ.get("PORTAPACK_PIXEL_TOLERANCE", "0"))  # max channel difference


def file_bytes(value: Any) -> bytes | None:
    """A data: URI's bytes, or an http(s) URL's body; None when ``value`` is not a file."""
    decoded = decode_data_uri(value)
    if decoded is not None:
        return decoded[0]
    if isinstance(value, str) and value.startswith(("http://", "https://")):
        try:
            with urllib.request.urlopen(value, timeout=30) as resp:  # noqa: S310 (test outputs)
                return resp.read()
        except OSError:
            return None
    return None


def is_file_expectation(value: Any) -> bool:
    """A data: URI, or ``{"sha256": hex}``: the expected side of a file comparison."""
    if isinstance(value, dict):
        return set(value) == {"sha256"} and isinstance(value["sha256"], str)
    return decode_data_uri(value) is not None


def file_difference(expected: Any, actual: Any, pixel_tolerance: int = PIXEL_TOLERANCE) -> str | None:
    """None when ``actual`` is the expected file; else what differs, in one line."""
    got = file_bytes(actual)
    if got is None:
        shown = repr(actual) if len(repr(actual)) <= 80 else repr(actual)[:77] + "..."
        return f"expected a file, got {shown}"
    if isinstance(expected, dict):
        digest = hashlib.sha256(got).hexdigest()
        if digest == expected["sha256"].lower():
            return None
        return f"expected sha256 {expected['sha256'][:12]}; got {_info(got)}"
    want = file_bytes(expected)
    assert want is not None, "is_file_expectation() first"
    return compare(want, got, pixel_tolerance)


def first_file_difference(expected: Any, actual: Any,
                          pixel_tolerance: int = PIXEL_TOLERANCE) -> str | None:
    """The first file expectation inside ``expected`` that ``actual`` misses, with its place."""
    if is_file_expectation(expected):
        return file_difference(expected, actual, pixel_tolerance)
    if isinstance(expected, dict) and isinstance(actual, dict):
        for key in expected:
            found = first_file_difference(expected[key], actual.get(key), pixel_tolerance)
            if found:
                return f"{key}: {found}"
    if isinstance(expected, list) and isinstance(actual, list):
        for n, (e, a) in enumerate(zip(expected, actual, strict=False)):
            found = first_file_difference(e, a, pixel_tolerance)
            if found:
                return f"[{n}]: {found}"
    return None


def _info(data: bytes) -> str:
    return f"{len(data)} bytes, sha256 {hashlib.sha256(data).hexdigest()[:12]}"


def _image(data: bytes) -> Any:
    try:
        from PIL import Image
    except ImportError:  # Pillow is optional: compare bytes only
        return None
    try:
        img = Image.open(io.BytesIO(data))
        img.load()
        return img.convert("RGBA")
    except Exception:  # not an image Pillow reads (any of its errors): compare bytes
        return None


def compare(want: bytes, got: bytes, pixel_tolerance: int = 0) -> str | None:
    """None when the same bytes or the same pixels (within ``pixel_tolerance``); else a
    description: sizes and hashes, then the image size or the first differing pixel/byte."""
    if want == got:
        return None
    head = f"expected {_info(want)}; got {_info(got)}"
    a, b = _image(want), _image(got)
    if a is None or b is None:
        if a is not None or b is not None:
            return f"{head}; only the {'expected' if a is not None else 'actual'} file is an image"
        pairs = zip(want, got, strict=False)
        first = next((i for i, (x, y) in enumerate(pairs) if x != y), min(len(want), len(got)))
        return f"{head}; first differing byte at offset {first}"
    if a.size != b.size:
        return f"{head}; image size {a.size[0]}x{a.size[1]} vs {b.size[0]}x{b.size[1]}"
    # Pillow 13 deprecates getdata() (removed in 14): get_flattened_data() is its successor.
    worst, first, count = 0, None, 0
    for i, (p, q) in enumerate(zip(a.get_flattened_data(), b.get_flattened_data(), strict=True)):
        d = max(abs(x - y) for x, y in zip(p, q, strict=True))
        if d > pixel_tolerance:
            count += 1
            if first is None:
                first = (i % a.size[0], i // a.size[0], p, q)
        worst = max(worst, d)
    if first is None:
        return None  # the same pixels, encoded differently
    x, y, p, q = first
    return (f"{head}; {count} of {a.size[0] * a.size[1]} pixels differ by more than "
            f"{pixel_tolerance} (max {worst}); first at ({x}, {y}): expected {p}, got {q}")


def shorten(value: Any) -> Any:
    """``value`` with each long data: URI as ``<file N bytes sha256 ...>`` (for diffs)."""
    if isinstance(value, str) and len(value) > 100:
        decoded = decode_data_uri(value)
        if decoded is not None:
            return f"<file {decoded[1] or 'data'} {_info(decoded[0])}>"
    if isinstance(value, list):
        return [shorten(v) for v in value]
    if isinstance(value, dict):
        return {k: shorten(v) for k, v in value.items()}
    return value
