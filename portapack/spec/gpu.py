"""The canonical GPU vocabulary and the parser for ``resources.gpu``.

Each target maps these canonical names to its own (``Target.gpu_names``); this module
knows nothing about platforms.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# Canonical name -> memory in GB (used to explain approximations).
CANONICAL: dict[str, int] = {
    "T4": 16,
    "L4": 24,
    "A10G": 24,
    "RTX-4090": 24,
    "A6000": 48,
    "L40S": 48,
    "A100-40GB": 40,
    "A100-80GB": 80,
    "H100": 80,
    "H200": 141,
    "B200": 180,
    "RTX-PRO-6000": 96,
}

# Spellings users write, after normalisation (upper case, '_' and ' ' -> '-').
ALIASES: dict[str, str] = {
    "A10": "A10G",
    "A10-24GB": "A10G",
    "4090": "RTX-4090",
    "RTX4090": "RTX-4090",
    "GEFORCE-RTX-4090": "RTX-4090",
    "RTX-A6000": "A6000",
    "A40-48GB": "A6000",
    "A100-40G": "A100-40GB",
    "A100-80G": "A100-80GB",
    "A100-SXM4-80GB": "A100-80GB",
    "H100-80GB": "H100",
    "H200-141GB": "H200",
    "RTXPRO6000": "RTX-PRO-6000",
}

# Names that mean different GPUs on different platforms: refuse them with a hint.
AMBIGUOUS: dict[str, str] = {
    "A100": "write A100-40GB or A100-80GB (platforms disagree on what plain 'A100' means)",
}

MAX_COUNT = 8


@dataclass(frozen=True)
class GpuRequest:
    """A parsed ``resources.gpu``: canonical type and count."""

    type: str
    count: int = 1

    def __str__(self) -> str:
        return self.type if self.count == 1 else f"{self.type}:{self.count}"


def normalize_name(name: str) -> str:
    return re.sub(r"[\s_]+", "-", name.strip().upper())


def parse_gpu(value: str) -> GpuRequest:
    """Parse ``"h100:2"``-style text into a :class:`GpuRequest`; ``ValueError`` explains a bad one."""
    text = str(value).strip()
    name, sep, count_text = text.partition(":")
    count = 1
    if sep:
        if not count_text.strip().isdigit() or not 1 <= int(count_text) <= MAX_COUNT:
            raise ValueError(f"GPU count in '{text}' must be a whole number from 1 to {MAX_COUNT}")
        count = int(count_text)
    key = normalize_name(name)
    if key in AMBIGUOUS:
        raise ValueError(f"'{name}' is ambiguous: {AMBIGUOUS[key]}")
    key = ALIASES.get(key, key)
    if key not in CANONICAL:
        raise ValueError(f"unknown GPU '{name}'; valid: {', '.join(CANONICAL)} (append ':N' for N GPUs)")
    return GpuRequest(key, count)
