"""``portapack call --repeat N --concurrency C``: the same call N times, C at a time, with
latency percentiles and throughput (figures to read, never asserted by tests)."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Latency:
    seconds: list[float]  # each successful call's latency, in order of completion
    errors: list[str]
    wall: float  # the whole run

    def percentile(self, p: float) -> float:
        ordered = sorted(self.seconds)
        if not ordered:
            return float("nan")
        if len(ordered) == 1:
            return ordered[0]
        return statistics.quantiles(ordered, n=100, method="inclusive")[int(p) - 1]

    @property
    def throughput(self) -> float:
        return len(self.seconds) / self.wall if self.wall > 0 else float("nan")

    def to_json(self) -> dict[str, Any]:
        return {"calls": len(self.seconds) + len(self.errors), "errors": len(self.errors),
                "p50_ms": self.percentile(50) * 1000, "p95_ms": self.percentile(95) * 1000,
                "p99_ms": self.percentile(99) * 1000, "per_second": self.throughput,
                "first_errors": self.errors[:3]}


def measure(call: Callable[[], Any], repeat: int, concurrency: int) -> Latency:
    """Run ``call`` ``repeat`` times on ``concurrency`` threads."""
    def one(_: int) -> tuple[float | None, str | None]:
        started = time.perf_counter()
        try:
            call()
        except Exception as exc:  # counted, shown, not raised: one failure ends no run
            return None, f"{type(exc).__name__}: {exc}"
        return time.perf_counter() - started, None

    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=max(1, concurrency)) as pool:
        results = list(pool.map(one, range(repeat)))
    wall = time.perf_counter() - started
    return Latency([s for s, _ in results if s is not None], [e for _, e in results if e], wall)
