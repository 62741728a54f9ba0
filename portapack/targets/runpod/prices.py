"""RunPod's live prices: its GPU catalog (``GET /v2/catalog/gpus``, REST v2), one price per
serverless pool, read with the deployer's own client when RUNPOD_API_KEY is set."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from portapack.cost.table import Price

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


def live_pool_prices(today: dt.date, env: Mapping[str, str]) -> list[Price]:
    """The catalog's pool prices when ``env`` has RUNPOD_API_KEY; [] without it."""
    api_key = env.get("RUNPOD_API_KEY")
    if not api_key:
        return []
    from portapack.targets.runpod.deployer import fetch_gpu_catalog

    base_url = env.get("PORTAPACK_RUNPOD_API_URL") or RUNPOD_API_URL
    try:
        return runpod_pool_prices(fetch_gpu_catalog(base_url, api_key, timeout=15), today)
    except (KeyError, TypeError, ValueError) as exc:  # a catalog of an unexpected shape
        from portapack.errors import PortapackError

        raise PortapackError(f"unexpected catalog answer: {exc}") from None
