"""``portapack cost`` as text: one table, then how each platform bills and the arithmetic."""

from __future__ import annotations

from portapack.cost.report import CostReport, TargetCost


def _memory(c: TargetCost) -> str:
    if not c.hardware.is_gpu:
        return "-"
    have = f"{c.gpu_memory_gb} GB" if c.gpu_memory_gb else "?"
    return f"{have} (asked {c.asked_memory_gb})" if c.asked_memory_gb else have


def _source(c: TargetCost) -> str:
    if c.rate is None:
        return "-"
    main = c.rate.gpu_price or c.rate.prices[0]
    if main.live:
        return "live API"
    if main.yours:
        return "yours"
    return f"table {main.checked.isoformat()} ({main.confidence})"


def rows(report: CostReport) -> list[dict[str, str]]:
    out = []
    for c in report.targets:
        gpu = c.rate.gpu_price if c.rate else None
        month = "-" if c.usd_per_month is None else f"${c.usd_per_month:,.2f}"
        flag = "*" if c.cheapest else ("!" if c.marks else "")
        out.append({
            "target": c.target, "platform": c.platform, "hardware": c.hardware.name,
            "gpu memory": _memory(c),
            "$/gpu-hour": f"{gpu.usd_per_hour:.2f}" if gpu else "-",
            "$/hour": f"{c.rate.usd_per_hour:.4f}" if c.rate else c.missing,
            "$/second": f"{c.rate.usd_per_hour / 3600:.6f}" if c.rate else "-",
            "source": _source(c), "per month": month, "": flag,
        })
    return out


def render_text(report: CostReport) -> list[str]:
    """The lines ``portapack cost`` prints."""
    table = rows(report)
    headers = list(table[0])
    if not report.traffic.given:
        headers.remove("per month")
    widths = {h: max(len(h), *(len(r[h]) for r in table)) for h in headers}
    lines = ["  ".join(h.ljust(widths[h]) for h in headers).rstrip()]
    lines += ["  ".join(r[h].ljust(widths[h]) for h in headers).rstrip() for r in table]
    lines.append("($/hour and $/second: one replica, all its GPUs, plus CPU and memory where billed "
                 "separately)")
    if report.traffic.given:
        lines.append(f"\ntraffic: {report.traffic.describe()}, cold start "
                     f"{report.traffic.cold_start_seconds:g} s (--cold-start-seconds), 30-day month")
    for c in report.targets:
        lines.append(f"\n{c.target} ({c.platform}): bills {c.rule.summary}")
        if c.rate is None:
            lines.append(f"  {c.missing} on {c.platform}")
        for step in c.arithmetic:
            lines.append(f"  {step}")
        if c.alternative:
            lines.append(f"  {c.alternative}")
        for p in c.rate.prices if c.rate else []:
            note = f"; {p.note}" if p.note else ""
            lines.append(f"  price of {p.hardware}: {p.origin}; {p.source}{note}")
        for mark in c.marks:
            lines.append(f"  ! {mark}")
    best = report.cheapest
    what = "for this traffic" if report.traffic.given else "per hour (give traffic for a monthly figure)"
    lines.append("")
    if best:
        lines.append(f"* cheapest that fits {what}: {best.target} ({best.platform})")
    else:
        lines.append("no target both fits and has a known price")
    if any(c.marks for c in report.targets):
        lines.append("! does not fit as asked (see above)")
    lines += [f"warning: {w}" for w in report.warnings]
    return lines
