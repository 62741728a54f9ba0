"""The self-hosted column of ``portapack cost``: the spec's GPUs at the user's own GPU-hour
price (``--self-hosted A100-80GB=1.10``), for comparing serverless platforms with their cluster.

A cluster's GPU is paid for whether a request is running or not, so the model is reserved
capacity: the replicas the traffic keeps busy (at least ``scaling.min_replicas``, at least one)
hold their GPUs around the clock. Scale-to-zero on a cluster saves money only where the node
autoscaler releases the GPU node too, which portapack cannot know: the row says so.
"""

from __future__ import annotations

import math

from portapack.cost.billing import DAY, Bill, BillingRule, Traffic, TrafficError
from portapack.cost.hardware import Hardware, asked_memory_gb
from portapack.cost.report import Rate, TargetCost
from portapack.cost.table import Price
from portapack.spec.gpu import CANONICAL, parse_gpu
from portapack.spec.loader import Project

COLUMN = "self-hosted"


class SelfHostedPriceError(TrafficError):
    """A ``--self-hosted`` entry that is not GPU=USD_PER_GPU_HOUR."""

    label = "invalid --self-hosted"

RULE = BillingRule("your own price for every hour a replica holds its GPUs: the replicas the "
                   "traffic keeps busy (at least scaling.min_replicas, at least 1) all day; "
                   "scale-to-zero saves only if your cluster also releases the node",
                   bills_setup=False, bills_idle=False, idle_name="none")


def parse_prices(entries: list[str] | tuple[str, ...]) -> dict[str, float]:
    """``["A100-80GB=1.10", "cpu=0.08"]`` -> {canonical GPU or "cpu": USD per GPU-hour}."""
    prices: dict[str, float] = {}
    for entry in entries:
        name, sep, value = entry.partition("=")
        try:
            price = float(value)
        except ValueError:
            price = math.nan
        if not sep or not math.isfinite(price) or price <= 0:
            raise SelfHostedPriceError(f"{entry!r}: write GPU=USD_PER_GPU_HOUR, e.g. "
                               "A100-80GB=1.10 (or cpu=0.08 per replica-hour for a CPU-only spec)")
        if name.strip().lower() == "cpu":
            prices["cpu"] = price
            continue
        try:
            gpu = parse_gpu(name.strip())
        except ValueError as exc:
            raise SelfHostedPriceError(f"{entry!r}: {exc}") from None
        prices[gpu.type] = price
    return prices


def self_hosted_cost(project: Project, prices: dict[str, float], traffic: Traffic) -> TargetCost:
    """The spec on the user's own hardware at ``prices``."""
    gpu = project.spec.resources.gpu
    key, count = (gpu.type, gpu.count) if gpu else ("cpu", 0)
    hardware = Hardware(COLUMN, f"{key}:{count}" if count > 1 else key, key, count)
    cost = TargetCost(COLUMN, hardware, RULE, 0, asked_memory_gb(project), None,
                      platform_name="your cluster")
    if key not in prices:
        cost.missing = f"no --self-hosted price for {key}"
        return cost
    price = Price(COLUMN, key, "gpu" if count else "cpu-instance", prices[key], "--self-hosted",
                  _today(), "high", gpu_memory_gb=CANONICAL[key] if count else None, yours=True)
    unit = prices[key] * max(count, 1)
    parts = [f"{count} x {key} ${prices[key]:g}/h" if count else f"1 x cpu replica ${prices[key]:g}/h"]
    cost.rate = Rate(unit, [price], parts)
    if not traffic.given:
        return cost
    busy = traffic.busy_seconds
    needed = max(1, math.ceil(busy / DAY - 1e-9)) if busy else 0
    replicas = max(needed, project.spec.scaling.min_replicas, 1)
    steps = [f"traffic: {traffic.describe()} = {busy:g} s busy, {needed} replica(s) needed",
             f"held all day: max({needed}, min_replicas {project.spec.scaling.min_replicas}, 1) = "
             f"{replicas} replica(s) x {DAY} s = {replicas * DAY} s"]
    cost.bill = Bill(float(replicas * DAY), needed, steps)
    _, cost.usd_per_month, line = cost.bill.cost(unit)
    cost.arithmetic = [*steps, f"rate: {parts[0]} = ${unit:.4g}/h", f"cost: {line}"]
    return cost


def _today():
    import datetime as dt

    return dt.date.today()
