"""The emulator's clock: the one source of "now" for everything the emulator decides.

It follows the machine's clock by default, shifted by an offset, or stands still when frozen.
It never moves backwards: stored data (sent times, payments, reminders) would contradict it.
It stays within :data:`EARLIEST` .. :data:`LATEST` (2000-01-01 to 2099-12-31 UTC): dates past
the year 9999 cannot be written, and a book moved to its last day could never move again.
"""

from __future__ import annotations

import datetime as dt
import math
import threading
import time
from collections.abc import Callable

from .._errors import PPNBError

#: The earliest time the clock may show.
EARLIEST = dt.datetime(2000, 1, 1, tzinfo=dt.UTC)
#: The latest time the clock may show (the last second of 2099, UTC).
LATEST = dt.datetime(2099, 12, 31, 23, 59, 59, tzinfo=dt.UTC)


class ClockError(ValueError, PPNBError):
    """A request to move the clock backwards, out of its range, or by something not a
    number of days."""


class Clock:
    """A controllable UTC clock.

    Parameters
    ----------
    start
        The time the clock shows now (within :data:`EARLIEST` .. :data:`LATEST`); defaults to
        the machine's time.
    frozen
        If true, time stands still until :meth:`set` or :meth:`advance` moves it.
    source
        The underlying time source in seconds since the epoch (for tests of the clock).
    """

    def __init__(
        self,
        start: dt.datetime | None = None,
        *,
        frozen: bool = False,
        source: Callable[[], float] = time.time,
    ) -> None:
        if start is not None:
            _in_range(_epoch(start))
        self._source = source
        self._lock = threading.Lock()
        self._frozen = frozen
        self._offset = 0.0 if start is None else _epoch(start) - source()
        self._pinned = _epoch(start) if start is not None else source()

    @property
    def frozen(self) -> bool:
        """Whether time stands still between explicit moves."""
        return self._frozen

    def now(self) -> dt.datetime:
        """The current emulator time, aware, in UTC."""
        with self._lock:
            return dt.datetime.fromtimestamp(self._seconds(), dt.UTC)

    def today(self) -> dt.date:
        """The current emulator date (UTC)."""
        return self.now().date()

    def _seconds(self) -> float:
        return self._pinned if self._frozen else self._source() + self._offset

    def set(self, when: dt.datetime) -> dt.datetime:
        """Move the clock to ``when``; refuses to go backwards or out of range
        (:class:`ClockError`)."""
        target = _in_range(_epoch(when))
        with self._lock:
            current = self._seconds()
            if target < current:
                raise ClockError(
                    f"the clock cannot move backwards (now {_iso(current)}, asked {_iso(target)})"
                )
            self._pinned = target
            self._offset = target - self._source()
        return self.now()

    def advance(self, *, days: float = 0, seconds: float = 0) -> dt.datetime:
        """Move the clock forward by a number of days and/or seconds (finite, not negative,
        and not past :data:`LATEST`; :class:`ClockError` otherwise)."""
        for name, value in (("days", days), ("seconds", seconds)):
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise ClockError(f"{name}: give a number, not {value!r}")
            if not math.isfinite(value):
                raise ClockError(f"{name}: give a finite number, not {value!r}")
            if value < 0:
                raise ClockError("the clock cannot move backwards")
        step = days * 86400.0 + seconds  # checked before a timedelta could overflow
        if step > LATEST.timestamp() - EARLIEST.timestamp():
            raise ClockError(_range_message(f"{days:g} days and {seconds:g} seconds ahead"))
        return self.set(self.now() + dt.timedelta(seconds=step))


def _epoch(when: dt.datetime) -> float:
    if when.tzinfo is None:
        raise ClockError("clock times must be timezone-aware")
    return when.timestamp()


def _in_range(seconds: float) -> float:
    if not EARLIEST.timestamp() <= seconds <= LATEST.timestamp():
        raise ClockError(_range_message(_iso(seconds)))
    return seconds


def _range_message(asked: str) -> str:
    return (f"the clock stays within {EARLIEST.date()} and {LATEST.date()} UTC (asked "
            f"{asked})")


def _iso(seconds: float) -> str:
    return dt.datetime.fromtimestamp(seconds, dt.UTC).isoformat()


def isoformat(when: dt.datetime) -> str:
    """PayPal's date_time rendering: UTC, seconds precision, ``Z`` suffix."""
    t = when.astimezone(dt.UTC)
    return f"{t.year:04d}-{t.month:02d}-{t.day:02d}T{t.hour:02d}:{t.minute:02d}:{t.second:02d}Z"
