"""When the client tries a request again, and how long it waits first."""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import httpx

__all__ = ["RETRY_STATUSES", "RetryPolicy", "retry_after"]

#: Answers worth trying again: rate limiting and the server's transient failures.
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})


@dataclass(frozen=True)
class RetryPolicy:
    """When and how long to wait before trying a request again.

    Connection errors and 429/500/502/503/504 are retried; 400, 401 (after one token
    refresh), 403, 404 and 422 never are. Waits grow exponentially with full jitter, capped
    at ``max_backoff``; a 429's ``Retry-After`` is honoured (up to ``max_retry_after``).

    This is the only retry loop in ppnb: the pager, bulk actions and forms send every
    request through it, so ``attempts`` bounds the HTTP attempts of any one request. Code
    that runs many requests at once slows down after a 429 with a shared
    :class:`~ppnb.client.Throttle` (:meth:`ppnb.client.Client.with_throttle`), not with a
    loop of its own.

    Parameters
    ----------
    attempts
        Total tries per request, the first included.
    backoff
        Base wait in seconds: attempt *n* waits up to ``backoff * 2**n``.
    max_backoff
        Cap on a single computed wait.
    max_retry_after
        Cap on a server-requested wait.
    sleep
        How to wait (tests pass a recorder instead of :func:`time.sleep`).
    rng
        The jitter's random numbers (tests pass a seeded or fixed one).
    """

    attempts: int = 4
    backoff: float = 0.25
    max_backoff: float = 8.0
    max_retry_after: float = 60.0
    sleep: Callable[[float], None] = field(default=time.sleep, repr=False)
    rng: random.Random = field(default_factory=random.Random, repr=False, compare=False)

    def delay(self, attempt: int, retry_after: float | None) -> float:
        """Seconds to wait after failed try number ``attempt`` (0-based)."""
        computed = self.rng.uniform(0, min(self.max_backoff, self.backoff * 2**attempt))
        if retry_after is not None:
            return max(min(retry_after, self.max_retry_after), computed)
        return computed


def retry_after(response: httpx.Response) -> float | None:
    """A response's ``Retry-After`` in seconds (None when absent or not a number)."""
    value = response.headers.get("retry-after")
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None
