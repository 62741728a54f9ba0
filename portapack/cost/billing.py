"""What a platform bills for (:class:`BillingRule`, which each target declares), and the
arithmetic of one day of traffic under a rule.

The traffic model is deliberately simple and shown in full: requests evenly spread over the
day, one request per replica at a time (no batching: an upper bound when scaling.concurrency
> 1). A replica that finishes a request waits ``idle`` seconds before it scales down; a
request that finds no replica up pays a cold start first.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from portapack.errors import PortapackError

DAY = 86400
DAYS_PER_MONTH = 30


class TrafficError(PortapackError):
    """The traffic given to ``portapack cost`` is impossible or incomplete."""

    exit_code = 2
    label = "invalid traffic"


@dataclass(frozen=True)
class Traffic:
    """A day of traffic: either N requests of S seconds, or H busy hours in one burst."""

    requests_per_day: float | None = None
    seconds_per_request: float | None = None
    busy_hours_per_day: float | None = None
    cold_start_seconds: float = 0.0

    @property
    def given(self) -> bool:
        return self.busy_hours_per_day is not None or self.requests_per_day is not None

    def check(self) -> None:
        """Raise :class:`TrafficError` naming the flag and the fix."""
        per_request = self.requests_per_day is not None or self.seconds_per_request is not None
        for flag, value in (("--requests-per-day", self.requests_per_day),
                            ("--seconds-per-request", self.seconds_per_request),
                            ("--busy-hours-per-day", self.busy_hours_per_day),
                            ("--cold-start-seconds", self.cold_start_seconds)):
            if value is not None and (value < 0 or not math.isfinite(value)):
                raise TrafficError(f"{flag} must be zero or more, not {value:g}")
        if per_request and self.busy_hours_per_day is not None:
            raise TrafficError("give either --requests-per-day with --seconds-per-request, or "
                               "--busy-hours-per-day, not both")
        if per_request and (self.requests_per_day is None or self.seconds_per_request is None):
            missing = "--seconds-per-request" if self.seconds_per_request is None else "--requests-per-day"
            raise TrafficError(f"{missing} is missing: --requests-per-day and --seconds-per-request "
                               "go together")
        if self.busy_hours_per_day is not None and self.busy_hours_per_day > 24:
            raise TrafficError(f"--busy-hours-per-day is {self.busy_hours_per_day:g}, more than a "
                               "day has; for several busy replicas use --requests-per-day")

    @property
    def busy_seconds(self) -> float:
        if self.busy_hours_per_day is not None:
            return self.busy_hours_per_day * 3600
        return (self.requests_per_day or 0) * (self.seconds_per_request or 0)

    def describe(self) -> str:
        if self.busy_hours_per_day is not None:
            return f"one burst of {self.busy_hours_per_day:g} h/day"
        return f"{self.requests_per_day:g} requests/day x {self.seconds_per_request:g} s"


@dataclass(frozen=True)
class BillingRule:
    """What a platform bills for, as data."""

    summary: str
    granularity: int = 1  # each up-period is rounded up to this many seconds
    bills_setup: bool = True  # cold start (container start, load()) is billed
    bills_idle: bool = True  # the idle wait before scale-down is billed
    always_on_min: bool = True  # min replicas are billed around the clock
    idle_seconds: int | None = None  # None: the spec's scaling.idle_timeout, which portapack applies
    idle_name: str = "idle"



@dataclass
class Bill:
    """Billed seconds for one day, with the arithmetic that got there."""

    seconds_per_day: float
    replicas_needed: int
    steps: list[str] = field(default_factory=list)

    @property
    def hours_per_day(self) -> float:
        return self.seconds_per_day / 3600

    def cost(self, usd_per_hour: float) -> tuple[float, float, str]:
        """(per day, per month, the line that shows it)."""
        day = self.hours_per_day * usd_per_hour
        month = day * DAYS_PER_MONTH
        return day, month, (f"{self.hours_per_day:.2f} h/day x ${usd_per_hour:.4g}/h = ${day:.2f}/day; "
                            f"x {DAYS_PER_MONTH} days = ${month:.2f}/month")


def _round_up(seconds: float, granularity: int) -> float:
    return math.ceil(seconds / granularity - 1e-9) * granularity if granularity > 1 else seconds


def bill_day(traffic: Traffic, rule: BillingRule, idle: float, min_replicas: int = 0) -> Bill:
    """Seconds billed for one day of ``traffic`` under ``rule``, ``idle`` seconds before scale-down."""
    busy, cold = traffic.busy_seconds, traffic.cold_start_seconds
    steps = [f"traffic: {traffic.describe()} = {busy:g} s busy"]
    replicas = max(1, math.ceil(busy / DAY - 1e-9)) if busy else 0
    if busy == 0:
        billed = 0.0
    elif not (rule.bills_idle or rule.bills_setup):
        billed = busy
        steps.append(f"billed: active time only = {busy:g} s")
    else:
        bursts, gap = _bursts(traffic, idle)
        if bursts == 0:  # replicas never scale down
            billed = _round_up(max(busy, DAY * replicas), rule.granularity)
            why = ("requests need the replicas all day" if gap <= 0 else
                   f"requests are {gap:g} s apart, within the {rule.idle_name} of {idle:g} s")
            steps.append(f"{why}: {replicas} replica(s) up all day = {billed:g} s")
        else:
            length = busy / bursts + (cold if rule.bills_setup else 0) + (idle if rule.bills_idle else 0)
            length = min(length, DAY / bursts)  # an up-period cannot outlast its share of the day
            per = _round_up(length, rule.granularity)
            parts = [f"{busy / bursts:g} s busy"]
            if rule.bills_setup:
                parts.insert(0, f"{cold:g} s cold start")
            if rule.bills_idle:
                parts.append(f"{idle:g} s {rule.idle_name}")
            rounded = f" -> {per:g} s (whole {rule.granularity} s)" if per != length else ""
            steps.append(f"{bursts:g} burst(s)/day, each {' + '.join(parts)} = {length:g} s{rounded}")
            billed = bursts * per
            steps.append(f"billed: {bursts:g} x {per:g} s = {billed:g} s")
    if rule.always_on_min and min_replicas and min_replicas * DAY > billed:
        steps.append(f"min replicas: {min_replicas} x {DAY} s always on = {min_replicas * DAY} s "
                     f"(covers the traffic above)")
        billed = float(min_replicas * DAY)
    return Bill(billed, replicas, steps)


def _bursts(traffic: Traffic, idle: float) -> tuple[float, float]:
    """(up-periods starting from zero per day, seconds between requests)."""
    if traffic.busy_hours_per_day is not None:
        return (0, 0) if traffic.busy_seconds >= DAY else (1, DAY - traffic.busy_seconds)
    n, s = traffic.requests_per_day or 0, traffic.seconds_per_request or 0
    gap = DAY / n - s
    return (0, gap) if gap <= idle else (n, gap)
