"""Put it together: per target, the hardware, its price, how it bills, and the monthly figure."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from portapack.cost.billing import Bill, BillingRule, Traffic, bill_day
from portapack.cost.hardware import Hardware, asked_memory_gb, hardware_for
from portapack.cost.table import Price, PriceTable, load_prices
from portapack.spec.loader import Project


def rules() -> dict[str, BillingRule]:
    """Each priced target's billing rule, in registry order."""
    from portapack.targets import TARGETS

    return {name: cls.billing for name, cls in TARGETS.items() if cls.billing is not None}


def billed_by(target: str) -> str:
    from portapack.targets import get_target

    return get_target(target).billed_by


@dataclass
class Rate:
    """The hourly price of one replica and the table rows it is made of."""

    usd_per_hour: float
    prices: list[Price]
    parts: list[str]

    @property
    def gpu_price(self) -> Price | None:
        return next((p for p in self.prices if p.kind == "gpu"), None)


@dataclass
class TargetCost:
    target: str
    hardware: Hardware
    rule: BillingRule
    idle_seconds: int
    asked_memory_gb: int | None
    rate: Rate | None
    missing: str = ""  # why there is no price
    bill: Bill | None = None
    usd_per_month: float | None = None
    arithmetic: list[str] = field(default_factory=list)
    alternative: str = ""
    marks: list[str] = field(default_factory=list)
    cheapest: bool = False
    platform_name: str = ""  # who bills, when the column is not a target (self-hosted)

    @property
    def platform(self) -> str:
        return self.platform_name or billed_by(self.target)

    @property
    def gpu_memory_gb(self) -> int | None:
        gpu = self.rate.gpu_price if self.rate else None
        return gpu.gpu_memory_gb * self.hardware.gpu_count if gpu and gpu.gpu_memory_gb else None

    @property
    def fits(self) -> bool:
        return self.rate is not None and not self.marks

    def to_json(self) -> dict[str, Any]:
        gpu = self.rate.gpu_price if self.rate else None
        return {
            "target": self.target, "platform": self.platform, "hardware": self.hardware.name,
            "gpu_count": self.hardware.gpu_count, "gpu_memory_gb": self.gpu_memory_gb,
            "asked_memory_gb": self.asked_memory_gb,
            "usd_per_gpu_hour": gpu.usd_per_hour if gpu else None,
            "usd_per_hour": self.rate.usd_per_hour if self.rate else None,
            "usd_per_second": self.rate.usd_per_hour / 3600 if self.rate else None,
            "rate": self.rate.parts if self.rate else [],
            "sources": [{"hardware": p.hardware, "source": p.source, "checked": p.checked.isoformat(),
                         "confidence": p.confidence, "live": p.live, "yours": p.yours, "note": p.note}
                        for p in (self.rate.prices if self.rate else [])],
            "no_price": self.missing or None,
            "billing": self.rule.summary, "idle_seconds": self.idle_seconds,
            "billed_hours_per_day": round(self.bill.hours_per_day, 4) if self.bill else None,
            "usd_per_month": round(self.usd_per_month, 2) if self.usd_per_month is not None else None,
            "arithmetic": self.arithmetic, "alternative": self.alternative or None,
            "marks": self.marks, "fits": self.fits, "cheapest": self.cheapest,
        }


@dataclass
class CostReport:
    traffic: Traffic
    targets: list[TargetCost]
    warnings: list[str]

    @property
    def cheapest(self) -> TargetCost | None:
        return next((t for t in self.targets if t.cheapest), None)

    def to_json(self) -> dict[str, Any]:
        best = self.cheapest
        return {"ok": True, "traffic": self.traffic.describe() if self.traffic.given else None,
                "cold_start_seconds": self.traffic.cold_start_seconds,
                "targets": [t.to_json() for t in self.targets],
                "cheapest": best.target if best else None, "warnings": self.warnings}


def replica_rate(hardware: Hardware, table: PriceTable) -> tuple[Rate | None, str]:
    """The hourly price of one replica on ``hardware``, or (None, why not)."""
    platform = hardware.target
    core, memory = table.get(platform, "cpu-core"), table.get(platform, "memory-gib")
    prices, parts, total = [], [], 0.0
    if hardware.is_gpu:
        gpu = table.get(platform, hardware.price_key)
        if gpu is None:
            return None, f"no price known for {hardware.price_key}"
        total += gpu.usd_per_hour * hardware.gpu_count
        prices.append(gpu)
        parts.append(f"{hardware.gpu_count} x {hardware.price_key} ${gpu.usd_per_hour:g}/h")
    elif not (core and memory):  # a CPU instance priced whole, or nothing known
        instance = table.get(platform, hardware.price_key)
        if instance is None or instance.kind != "cpu-instance":
            return None, "no CPU price known"
        return Rate(instance.usd_per_hour, [instance], [f"{hardware.name} ${instance.usd_per_hour:g}/h"]), ""
    # Platforms with per-core and per-GiB rows bill them for every replica, GPU or not (Modal).
    if core and memory and hardware.cpu_cores is not None and hardware.memory_gib is not None:
        total += hardware.cpu_cores * core.usd_per_hour + hardware.memory_gib * memory.usd_per_hour
        prices += [core, memory]
        parts += [f"{hardware.cpu_cores:g} cores x ${core.usd_per_hour:g}/h",
                  f"{hardware.memory_gib:g} GiB x ${memory.usd_per_hour:g}/h"]
    return Rate(total, prices, parts), ""


def target_cost(project: Project, target: str, table: PriceTable, traffic: Traffic) -> TargetCost:
    from portapack.targets import get_target

    hardware = hardware_for(project, target)
    rule = get_target(target).billing
    idle = rule.idle_seconds if rule.idle_seconds is not None else project.spec.scaling.idle_timeout
    rate, missing = replica_rate(hardware, table)
    cost = TargetCost(target, hardware, rule, idle, asked_memory_gb(project), rate, missing)
    from portapack.targets import get_target

    for reason in get_target(target).for_project(project).validate(project):
        cost.marks.append(f"cannot carry this spec: {reason}")  # never the cheapest that fits
    if cost.asked_memory_gb and cost.gpu_memory_gb and cost.gpu_memory_gb < cost.asked_memory_gb:
        cost.marks.append(f"less GPU memory than asked: {cost.gpu_memory_gb} GB < "
                          f"{cost.asked_memory_gb} GB")
    gpu = rate.gpu_price if rate else None
    if gpu and gpu.committed_spend:
        cost.marks.append(f"{gpu.hardware} is only on committed-spend contracts")
    if rate is None or not traffic.given:
        return cost
    scaling = project.spec.scaling
    cost.bill = bill_day(traffic, rule, idle, scaling.min_replicas)
    _, cost.usd_per_month, line = cost.bill.cost(rate.usd_per_hour)
    cost.arithmetic = [*cost.bill.steps, f"rate: {' + '.join(rate.parts)} = ${rate.usd_per_hour:.4g}/h",
                       f"cost: {line}"]
    if cost.bill.replicas_needed > scaling.max_replicas:
        cost.marks.append(f"the traffic keeps {cost.bill.replicas_needed} replicas busy; "
                          f"scaling.max_replicas is {scaling.max_replicas}")
    for label, other in get_target(target).billing_alternatives.items():
        alternative = bill_day(traffic, other, idle)
        cost.alternative = f"{label}: ${alternative.cost(rate.usd_per_hour)[1]:.2f}/month"
    return cost


def estimate(project: Project, traffic: Traffic | None = None, *, offline: bool = False,
             today: dt.date | None = None, env: Mapping[str, str] | None = None,
             table: PriceTable | None = None, self_hosted: Mapping[str, float] | None = None) -> CostReport:
    """Price ``project`` on every target for ``traffic``.

    ``offline`` uses the bundled table only; otherwise platforms with credentials in ``env``
    (default: the environment) are priced live. ``today`` is injectable for the 90-day check.
    ``self_hosted`` ({canonical GPU or "cpu": USD per GPU-hour}) adds the user's own cluster."""
    from portapack.cost.live import live_prices

    traffic = traffic or Traffic()
    traffic.check()
    today = today or dt.date.today()
    table = table or load_prices()
    warnings: list[str] = []
    if not offline:
        live, failures = live_prices(today, env)
        table, warnings = table.with_live(live), failures
    for platform, date in sorted(table.stale(today).items()):
        warnings.append(f"{billed_by(platform)} prices in the bundled table are "
                        f"from {date.isoformat()}, {(today - date).days} days old: check the sources "
                        "listed, or use live prices where the platform has them")
    costs = [target_cost(project, t, table, traffic) for t in rules()]
    if self_hosted:  # the user's own cluster at their own GPU-hour price
        from portapack.cost.selfhosted import self_hosted_cost

        costs.append(self_hosted_cost(project, dict(self_hosted), traffic))
    key = (lambda c: c.usd_per_month) if traffic.given else (lambda c: c.rate.usd_per_hour)
    fitting = [c for c in costs if c.fits and (not traffic.given or c.usd_per_month is not None)]
    if fitting:
        min(fitting, key=key).cheapest = True
    return CostReport(traffic, costs, warnings)


def price_line(project: Project, target: str) -> str | None:
    """One line for a deploy plan: hardware, $/GPU-hour, source, billing rule (bundled table).

    None when no price is known for what ``target`` maps the spec to."""
    if target not in rules():
        return None
    cost = target_cost(project, target, load_prices(), Traffic())
    if cost.rate is None:
        return None
    gpu = cost.rate.gpu_price
    memory = f" ({cost.gpu_memory_gb} GB)" if cost.gpu_memory_gb else ""
    unit = f"${gpu.usd_per_hour:g}/GPU-hour" if gpu else f"${cost.rate.usd_per_hour:.4g}/hour"
    main = gpu or cost.rate.prices[0]
    marks = "".join(f"; {m}" for m in cost.marks)
    return (f"{cost.hardware.name}{memory} at {unit} ({main.origin}, {main.source}); "
            f"bills {cost.rule.summary}{marks}")
