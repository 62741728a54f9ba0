"""When to send a request again, and how long to wait: backoff, Retry-After, poll intervals."""

from __future__ import annotations

import email.utils
import random
import re
import time
from dataclasses import dataclass

# Statuses worth another try for a request that reads (GET, a poll, a cancel): transient.
TRANSIENT = frozenset({408, 429, 500, 502, 503, 504})
# A request that starts work is sent again only when it provably did nothing (429: refused
# before anything was created). Transports add their own (Baseten documents 503 as "not
# routed yet").
CREATE = frozenset({429})


@dataclass(frozen=True)
class RetryPolicy:
    """Exponential backoff with jitter: ``min(cap, base * 2**n) * (1 +- jitter)``.

    ``Retry-After`` (seconds or an HTTP date) wins when the server sends it, capped at
    ``max_retry_after``.
    """

    attempts: int = 6
    base: float = 0.5
    cap: float = 30.0
    jitter: float = 0.1
    max_retry_after: float = 60.0

    def delay(self, attempt: int, retry_after: float | None = None) -> float:
        if retry_after is not None:
            return min(max(retry_after, 0.0), self.max_retry_after)
        wait = min(self.cap, self.base * 2 ** attempt)
        return wait * (1 + random.uniform(-self.jitter, self.jitter))


@dataclass(frozen=True)
class PollPolicy:
    """Poll intervals that back off: ``first``, then x ``factor`` up to ``cap``."""

    first: float = 0.5
    factor: float = 1.5
    cap: float = 5.0

    def intervals(self):
        wait = self.first
        while True:
            yield wait
            wait = min(self.cap, wait * self.factor)


_THROTTLED = re.compile(r"available in (\d+(?:\.\d+)?) second", re.IGNORECASE)


def retry_after(headers: dict[str, str], body: object = None) -> float | None:
    """Seconds the server asks us to wait: ``Retry-After`` (seconds or HTTP date), else a
    throttling message such as Replicate's "Expected available in 1 second."."""
    value = headers.get("retry-after")
    if value:
        value = value.strip()
        try:
            return float(value)
        except ValueError:
            try:
                parsed = email.utils.parsedate_to_datetime(value)
            except (TypeError, ValueError):
                parsed = None
            if parsed is not None:
                return max(0.0, parsed.timestamp() - time.time())
    detail = body.get("detail") if isinstance(body, dict) else body
    if isinstance(detail, str):
        found = _THROTTLED.search(detail)
        if found:
            return float(found.group(1))
    return None
