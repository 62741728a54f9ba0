"""``portapack cost``: what the spec costs on each platform, side by side.

Each target declares how its platform bills (``Target.billing``) and bundles its prices
(``prices.toml`` beside its module); where a platform publishes prices and credentials are set,
the target reads them live (``Target.live_prices``). This package holds the neutral machinery:
the table, the billing arithmetic, the report and its rendering. Names load on first use, so a
target can import :mod:`.billing` without the rest.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

_LAZY = {
    "BillingRule": ".billing", "Traffic": ".billing", "TrafficError": ".billing", "bill_day": ".billing",
    "Hardware": ".hardware", "hardware_for": ".hardware",
    "render_text": ".render",
    "CostReport": ".report", "TargetCost": ".report", "estimate": ".report", "price_line": ".report",
    "rules": ".report",
    "Price": ".table", "PriceTable": ".table", "load_prices": ".table",
    "parse_prices": ".selfhosted", "self_hosted_cost": ".selfhosted",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'portapack.cost' has no attribute {name!r}")
    return getattr(import_module(module, __name__), name)


__all__ = sorted(_LAZY)
