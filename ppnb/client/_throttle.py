"""A shared limit on requests in flight that backs off after PayPal answers 429."""

from __future__ import annotations

import threading

__all__ = ["Throttle"]


class Throttle:
    """How many requests may be in flight at once: halved on each 429, and raised again by
    one after a run of successes, up to where it started.

    A client given a throttle (:meth:`ppnb.client.Client.with_throttle`) sends every HTTP
    attempt inside one of its slots and tells it how the attempt went, so threads that
    share it slow down together as soon as any of them is rate-limited. It adds no retry:
    waiting and trying again stay with the client's :class:`~ppnb.client.RetryPolicy`.

    Parameters
    ----------
    limit
        Requests in flight at most: the starting limit and the ceiling it recovers to.

    Examples
    --------
    >>> throttle = Throttle(6)
    >>> throttle.throttled(); throttle.limit
    3
    """

    def __init__(self, limit: int) -> None:
        self.ceiling = self.limit = max(1, limit)
        self._active = 0
        self._successes = 0
        self._cond = threading.Condition()

    def __repr__(self) -> str:
        return f"Throttle(limit={self.limit}, ceiling={self.ceiling})"

    def __enter__(self) -> None:
        """Wait for a free slot and take it."""
        with self._cond:
            while self._active >= self.limit:
                self._cond.wait()
            self._active += 1

    def __exit__(self, *exc: object) -> None:
        """Give the slot back."""
        with self._cond:
            self._active -= 1
            self._cond.notify_all()

    def observe(self, status: int) -> None:
        """Learn from one attempt's HTTP status: 429 is :meth:`throttled`, a success (below
        400) :meth:`succeeded`; other errors say nothing about the rate."""
        if status == 429:
            self.throttled()
        elif status < 400:
            self.succeeded()

    def throttled(self) -> None:
        """A 429 came: halve the limit (never below one)."""
        with self._cond:
            self.limit = max(1, self.limit // 2)
            self._successes = 0

    def succeeded(self) -> None:
        """An attempt succeeded: after ``4 × limit`` in a row, allow one more in flight."""
        with self._cond:
            self._successes += 1
            if self.limit < self.ceiling and self._successes >= 4 * self.limit:
                self.limit += 1
                self._successes = 0
                self._cond.notify_all()
