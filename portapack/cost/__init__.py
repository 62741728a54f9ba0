"""``portapack cost``: what the spec costs on each platform, side by side.

Prices come from the table shipped beside this module (``prices.toml``: one dated, sourced row
per platform and hardware) or, where a platform publishes them and credentials are set, from its
API. Only :mod:`.hardware` knows how each target names its hardware.
"""

from __future__ import annotations

from portapack.cost.billing import RULES, Traffic, TrafficError, bill_day
from portapack.cost.hardware import Hardware, hardware_for
from portapack.cost.render import render_text
from portapack.cost.report import CostReport, TargetCost, estimate, price_line
from portapack.cost.table import Price, PriceTable, load_prices

__all__ = ["RULES", "CostReport", "Hardware", "Price", "PriceTable", "TargetCost", "Traffic",
           "TrafficError", "bill_day", "estimate", "hardware_for", "load_prices", "price_line",
           "render_text"]
