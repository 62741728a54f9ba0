"""The price table and its staleness check.

Each target bundles its platform's prices in ``prices.toml`` beside its module
(:meth:`~portapack.targets.base.Target.bundled_prices`); this module reads and checks them. A row::

    [[price]]
    hardware = "A100-80GB"     # as the target names it (GPU string, SKU, pool...)
    kind = "gpu"               # gpu: per GPU (x the count); cpu-core: per core;
                               # memory-gib: per GiB; cpu-instance: per instance
    gpu_memory_gb = 80         # required for a GPU row
    usd_per_hour = 2.50
    source = "https://..."     # where the figure comes from
    checked = 2026-06-01       # when the figure is known to hold: the source's own date, else
                               # the day the (undated) source was read
    confidence = "low"         # high: the platform's own list, dated; medium: its own list,
                               # undated; low: secondary or third-party: verify before relying
    note = "..."               # optional; committed_spend = true for contract-only hardware

``portapack cost`` warns when a platform's newest ``checked`` date is older than 90 days.
"""

from __future__ import annotations

import datetime as dt
import tomllib
from dataclasses import dataclass
from pathlib import Path

from portapack.errors import PortapackError

KINDS = ("gpu", "cpu-core", "memory-gib", "cpu-instance")
CONFIDENCE = ("high", "medium", "low")
STALE_AFTER_DAYS = 90


class PriceTableError(PortapackError):
    """The price table file is malformed (a packaging bug or a bad hand edit)."""

    label = "bad price table"


@dataclass(frozen=True)
class Price:
    """One platform's hourly price for one piece of hardware, with where it came from."""

    platform: str  # the target name
    hardware: str  # as the target names it (a GPU string, a SKU, a pool...)
    kind: str
    usd_per_hour: float
    source: str  # a URL, or the API request a live figure came from
    checked: dt.date
    confidence: str
    gpu_memory_gb: int | None = None
    committed_spend: bool = False
    note: str = ""
    live: bool = False
    yours: bool = False  # given by the user (portapack cost --self-hosted), not from a table

    @property
    def usd_per_second(self) -> float:
        return self.usd_per_hour / 3600

    @property
    def origin(self) -> str:
        """Where this figure came from, for the output: live API or the bundled table."""
        if self.live:
            return f"live: {self.source} ({self.checked.isoformat()})"
        if self.yours:
            return f"your figure ({self.source})"
        return f"bundled table, checked {self.checked.isoformat()}, {self.confidence} confidence"


class PriceTable:
    """Prices by (platform, hardware); live figures override bundled ones."""

    def __init__(self, prices: list[Price]):
        self.prices = list(prices)
        self._index = {(p.platform, p.hardware): p for p in self.prices}

    def get(self, platform: str, hardware: str) -> Price | None:
        return self._index.get((platform, hardware))

    def with_live(self, live: list[Price]) -> PriceTable:
        """A copy where each live price replaces the bundled row of the same hardware."""
        replaced = {(p.platform, p.hardware) for p in live}
        kept = [p for p in self.prices if (p.platform, p.hardware) not in replaced]
        return PriceTable(kept + list(live))

    def stale(self, today: dt.date, max_age_days: int = STALE_AFTER_DAYS) -> dict[str, dt.date]:
        """Platforms whose NEWEST bundled date is older than ``max_age_days``: platform -> date.

        Per platform, not over the whole table: one fresh platform must not hide a stale one.
        A platform priced live is never stale."""
        newest: dict[str, dt.date] = {}
        live_platforms = {p.platform for p in self.prices if p.live}
        for p in self.prices:
            if p.platform not in live_platforms:
                newest[p.platform] = max(newest.get(p.platform, p.checked), p.checked)
        return {name: date for name, date in newest.items() if (today - date).days > max_age_days}


def load_prices(path: Path | None = None) -> PriceTable:
    """Every target's bundled prices, or one table file whose rows name their ``platform``."""
    if path is None:
        from portapack.targets import TARGETS

        return PriceTable([p for cls in TARGETS.values() for p in cls().bundled_prices()])
    return PriceTable(read_price_file(Path(path)))


def read_price_file(path: Path, platform: str | None = None) -> list[Price]:
    """The rows of one price file; ``platform``: the target they belong to (else each row's)."""
    try:
        rows = tomllib.loads(path.read_text(encoding="utf-8")).get("price", [])
    except tomllib.TOMLDecodeError as exc:
        raise PriceTableError(f"{path}: {exc}") from None
    return [_row(str(path), n, row if platform is None else {"platform": platform, **row})
            for n, row in enumerate(rows)]


def _row(name: str, n: int, row: dict) -> Price:
    where = f"{name} price #{n + 1}"
    required = {"platform", "hardware", "kind", "usd_per_hour", "source", "checked", "confidence"}
    allowed = required | {"gpu_memory_gb", "committed_spend", "note"}
    missing, unknown = required - row.keys(), row.keys() - allowed
    if missing or unknown:
        raise PriceTableError(f"{where}: missing {sorted(missing)}, unknown {sorted(unknown)}")
    if row["kind"] not in KINDS or row["confidence"] not in CONFIDENCE:
        raise PriceTableError(f"{where}: kind must be one of {KINDS}, confidence one of {CONFIDENCE}")
    if not isinstance(row["checked"], dt.date) or isinstance(row["checked"], dt.datetime):
        raise PriceTableError(f"{where}: checked must be a bare TOML date such as 2026-06-01")
    if not isinstance(row["usd_per_hour"], int | float) or row["usd_per_hour"] <= 0:
        raise PriceTableError(f"{where}: usd_per_hour must be a positive number")
    if row["kind"] == "gpu" and not row.get("gpu_memory_gb"):
        raise PriceTableError(f"{where}: a GPU row needs gpu_memory_gb")
    return Price(**{**row, "usd_per_hour": float(row["usd_per_hour"])})
