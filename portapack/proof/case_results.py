"""What ``portapack test`` reports, and when an output counts as the expected one.

One :class:`CaseResult` per request against one target (or a check that could not run
here), gathered in a :class:`TestReport`; :func:`same` compares an actual output with the
expected one, :func:`names_input` checks that a refused request names the broken input.
Used by the predictor tests (:mod:`.testing`), the server tests (:mod:`.server_testing`)
and ``portapack import --verify``.
"""

from __future__ import annotations

import difflib
import json
import math
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from portapack.proof.filecompare import file_difference, is_file_expectation, shorten

if TYPE_CHECKING:
    from portapack.building.builder import BuildResult


@dataclass
class CaseResult:
    """One request against one target."""

    target: str
    case: str  # "example 1", "invalid", "example 1 (stream)"
    ok: bool
    seconds: float = 0.0
    expected: Any = None
    actual: Any = None
    error: str | None = None
    skipped: str | None = None  # why this check could not run here (then ok is False)
    device: str | None = None  # "cpu": a GPU spec's request run on the CPU (--device cpu)
    cause: str | None = None  # the error in one line, with the fix (see proof/causes.py)

    def diff(self) -> str:
        # Files as "<file N bytes sha256 ...>"; repr() for anything JSON cannot show: never a crash.
        want = json.dumps(shorten(self.expected), indent=2, sort_keys=True, ensure_ascii=False,
                          default=repr).splitlines()
        got = json.dumps(shorten(self.actual), indent=2, sort_keys=True, ensure_ascii=False,
                         default=repr).splitlines()
        return "\n".join(difflib.unified_diff(want, got, "expected", "actual", lineterm=""))


@dataclass
class TestReport:
    """Every check of one run; ``ok`` only if there was one and all of them ran and passed."""

    results: list[CaseResult] = field(default_factory=list)
    note: str | None = None  # how this run differs from the platforms' (e.g. the GPU unused)

    @property
    def ok(self) -> bool:
        return bool(self.results) and all(r.ok for r in self.results)

    @property
    def failures(self) -> list[CaseResult]:
        return [r for r in self.results if not r.ok and not r.skipped]

    @property
    def skipped(self) -> list[CaseResult]:
        """Checks that could not run here (never a pass: ``ok`` is False when any exist)."""
        return [r for r in self.results if r.skipped]

    def to_json(self) -> dict[str, Any]:
        return {"ok": self.ok, "skipped": len(self.skipped), "note": self.note, "results": [
            {"target": r.target, "case": r.case, "ok": r.ok, "seconds": round(r.seconds, 4),
             "expected": r.expected, "actual": r.actual, "error": r.error, "skipped": r.skipped,
             "device": r.device}
            for r in self.results]}


def same(expected: Any, actual: Any, tolerance: float | None) -> bool:
    """Equal as JSON values (a bool is never a number); floats within ``tolerance`` if given;
    files (a data: URI or ``{"sha256": ...}`` expected) by content."""
    if is_file_expectation(expected):
        return file_difference(expected, actual) is None
    if isinstance(expected, dict) and isinstance(actual, dict):
        return expected.keys() == actual.keys() and all(
            same(expected[k], actual[k], tolerance) for k in expected)
    if isinstance(expected, list) and isinstance(actual, list):
        return len(expected) == len(actual) and all(
            same(e, a, tolerance) for e, a in zip(expected, actual, strict=False))
    if isinstance(expected, bool) or isinstance(actual, bool):
        return type(expected) is type(actual) and expected == actual
    if isinstance(expected, int | float) and isinstance(actual, int | float):
        if tolerance is None:
            return expected == actual
        return math.isclose(expected, actual, rel_tol=tolerance, abs_tol=tolerance)
    return type(expected) is type(actual) and expected == actual


def names_input(error: str | None, name: str) -> bool:
    """Whether an error message names the input (``input 'x'`` or an item ``input 'x.0'``)."""
    return re.search(rf"input '{re.escape(name)}['.]", error or "") is not None


__all__ = ["CaseResult", "TestReport", "names_input", "same"]


def record_refused(result: BuildResult, record: Callable[[CaseResult], None]) -> None:
    """A target "all" left out (it cannot carry this spec): a skipped row with the reason."""
    for refused in result.refused:
        record(CaseResult(refused.target, "build", False,
                          skipped="refused: " + "; ".join(refused.reasons)))
