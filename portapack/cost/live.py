"""Live prices where a platform publishes them: each target reads its own
(:meth:`~portapack.targets.base.Target.live_prices`); a failure is a warning, never an error.

Modal: the modal SDK (1.6.4) has ``modal.Workspace.from_context().billing.rates()`` (the
WorkspaceBillingRates RPC), a mapping of server-defined rate names to Decimals. The SDK names no
keys and documents no units, so portapack cannot tell which rate is which GPU without an account
to look at: it is not used, and Modal's figures always come from the bundled table.
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Mapping

from portapack.cost.table import Price
from portapack.errors import PortapackError


def live_prices(today: dt.date, env: Mapping[str, str] | None = None) -> tuple[list[Price], list[str]]:
    """Live prices of every priced target whose platform publishes them: (prices, warnings).

    A failed fetch is a warning: the bundled table still answers."""
    from portapack.targets import TARGETS

    env = os.environ if env is None else env
    prices: list[Price] = []
    warnings: list[str] = []
    for cls in TARGETS.values():
        target = cls()
        if target.billing is None:
            continue
        try:
            prices += target.live_prices(today, env)
        except PortapackError as exc:
            warnings.append(f"{target.billed_by} live prices unavailable ({exc}); using the bundled table")
    return prices, warnings
