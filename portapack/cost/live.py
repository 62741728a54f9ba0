"""Live prices where a platform publishes them: RunPod's GPU catalog (GET /v2/catalog/gpus).

Modal: the modal SDK (1.6.4) has ``modal.Workspace.from_context().billing.rates()`` (the
WorkspaceBillingRates RPC), a mapping of server-defined rate names to Decimals. The SDK names no
keys and documents no units, so portapack cannot tell which rate is which GPU without an account
to look at: it is not used, and Modal's figures always come from the bundled table.
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Callable, Mapping
from typing import Any

from portapack.cost.table import Price
from portapack.errors import PortapackError

RUNPOD_API_URL = "https://api.runpod.io/v2"  # REST v2; PORTAPACK_RUNPOD_API_URL overrides it
CATALOG_SOURCE = "RunPod API GET /v2/catalog/gpus"


def runpod_pool_prices(gpus: list[dict[str, Any]], today: dt.date) -> list[Price]:
    """Catalog entries -> one live price per serverless pool (``price.serverless``, per GPU-hour).

    Cards outside any serverless pool (``pool`` null) or without a serverless price are skipped.
    Cards of one pool share its price; if they ever disagree, the highest is kept."""
    pools: dict[str, Price] = {}
    for gpu in gpus:
        pool, price = gpu.get("pool"), (gpu.get("price") or {}).get("serverless")
        if not pool or not isinstance(price, int | float) or price <= 0:
            continue
        known = pools.get(pool)
        if known is None or price > known.usd_per_hour:
            memory = min(gpu["memory"], known.gpu_memory_gb) if known else gpu["memory"]
            pools[pool] = Price("runpod", pool, "gpu", float(price), CATALOG_SOURCE, today, "high",
                                gpu_memory_gb=int(memory), live=True)
    return list(pools.values())


def _fetch_catalog(base_url: str, api_key: str, timeout: float = 15) -> list[dict[str, Any]]:
    """GET /catalog/gpus with the RunPod deployer's own client."""
    from portapack.targets.runpod.deployer import fetch_gpu_catalog

    return fetch_gpu_catalog(base_url, api_key, timeout=timeout)


def live_prices(today: dt.date, env: Mapping[str, str] | None = None,
                fetch: Callable[..., list[dict[str, Any]]] | None = None) -> tuple[list[Price], list[str]]:
    """Live prices for every platform with credentials set: (prices, warnings).

    A failed fetch is a warning, never an error: the bundled table still answers."""
    env = os.environ if env is None else env
    prices: list[Price] = []
    warnings: list[str] = []
    api_key = env.get("RUNPOD_API_KEY")
    if api_key:
        base_url = env.get("PORTAPACK_RUNPOD_API_URL") or RUNPOD_API_URL
        try:
            prices += runpod_pool_prices((fetch or _fetch_catalog)(base_url, api_key, timeout=15), today)
        except (PortapackError, KeyError, TypeError, ValueError) as exc:
            warnings.append(f"RunPod live prices unavailable ({exc}); using the bundled table")
    return prices, warnings
