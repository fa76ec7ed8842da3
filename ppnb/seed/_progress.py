"""Seeding progress that stays quiet: ppnb's bar where someone watches, plain lines elsewhere.

A tqdm bar redraws itself with carriage returns. On a terminal that is one line changing in
place; in a log file, a pipe or a saved notebook every redraw stays, and a seed of 2,000
invoices left dozens of ``\\r`` updates there. So :func:`progress` gives:

* where someone watches (a terminal or a notebook, :func:`ppnb._progress.interactive`):
  ppnb's quiet bar (:func:`ppnb._progress.progress_bar`), shown only once the work has taken
  :data:`ppnb._progress.DELAY` seconds;
* anywhere else (``ppnb seed`` run by a script or CI, or as the child process
  :func:`ppnb.seed.seed_elsewhere` starts, whose stderr is a pipe): :class:`LineProgress`,
  whole lines and never a carriage return, one every :data:`ppnb._progress.LOG_INTERVAL`
  seconds while it runs and a last one with the final count, none for a run under
  :data:`ppnb._progress.DELAY` seconds.

Either way the count ends at the true number of invoices handled.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from typing import IO, Any, Protocol

from .. import _progress

__all__ = ["LineProgress", "Progress", "progress"]


class Progress(Protocol):
    """What seeding needs of a progress display."""

    def update(self, n: int = 1) -> Any: ...

    def close(self) -> None: ...


class LineProgress:
    """Progress as whole lines (``seed demo: 1,200/2,000 invoices, after 60 s``), for logs.

    Parameters
    ----------
    total
        The count it will reach.
    label
        What is counted (``seed demo``).
    stream
        Where lines go.
    initial
        The count it starts from (work done before it was made).
    clock
        Seconds, monotonic (``time.monotonic``; tests pass their own).
    """

    def __init__(self, total: int, label: str, stream: IO[str], *, initial: int = 0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.total, self.label, self.stream, self.n = total, label, stream, initial
        self._clock = clock
        self._started = clock()
        self._last = self._started
        self._shown = False

    def update(self, n: int = 1) -> None:
        """Count ``n`` more; write a line once ``LOG_INTERVAL`` seconds have passed since the
        start or the last line (and at least ``DELAY`` since the start)."""
        self.n += n
        now = self._clock()
        if now - self._last >= _progress.LOG_INTERVAL and now - self._started >= \
                _progress.DELAY:
            self._last = now
            self._line(now)

    def close(self) -> None:
        """Write the final count, unless nothing was shown and the work took under
        ``DELAY`` seconds."""
        now = self._clock()
        if self._shown or now - self._started >= _progress.DELAY:
            self._line(now, done=True)

    def _line(self, now: float, *, done: bool = False) -> None:
        self._shown = True
        state = "done in" if done else "after"
        self.stream.write(f"{self.label}: {self.n:,}/{self.total:,} invoices, {state} "
                          f"{now - self._started:.0f} s\n")
        self.stream.flush()


def progress(total: int, label: str, *, initial: int = 0) -> Progress:
    """ppnb's quiet bar where someone watches, :class:`LineProgress` on stderr elsewhere."""
    if _progress.interactive():
        return _progress.progress_bar(show=None, total=total, desc=label, unit="inv",
                                      initial=initial)
    return LineProgress(total, label, sys.stderr, initial=initial)
