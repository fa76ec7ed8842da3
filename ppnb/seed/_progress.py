"""Seeding progress that stays quiet: a bar on a terminal, a few plain lines anywhere else.

A tqdm bar redraws itself with carriage returns. On a terminal that is one line changing in
place; in a log file, a pipe or a saved notebook every redraw stays, and a seed of 2,000
invoices left dozens of ``\\r`` updates there. So :func:`progress` gives:

* on a terminal (``stream.isatty()``): a tqdm bar, shown only once the work has taken
  :data:`DELAY` seconds (a fast seed shows nothing) and redrawn at most every
  :data:`MININTERVAL` seconds;
* anywhere else: :class:`LineProgress`, whole lines without a carriage return, one every
  :data:`EVERY` seconds while it runs (none in the first :data:`DELAY`) and a last one with
  the final count when anything was shown.

Either way the count ends at the true number of invoices handled.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import IO, Any, Protocol

__all__ = ["DELAY", "EVERY", "MININTERVAL", "LineProgress", "Progress", "progress"]

#: Seconds of work before anything is shown.
DELAY = 1.0
#: Seconds between two redraws of the terminal bar.
MININTERVAL = 0.5
#: Seconds between two progress lines when the output is not a terminal.
EVERY = 10.0


class Progress(Protocol):
    """What seeding needs of a progress display."""

    def update(self, n: int = 1) -> Any: ...

    def close(self) -> None: ...


class LineProgress:
    """Progress as whole lines (``seed demo: 1,200/2,000 invoices``), for logs and pipes.

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
        self._next = self._started + max(DELAY, EVERY)
        self._shown = False

    def update(self, n: int = 1) -> None:
        """Count ``n`` more; write a line if :data:`EVERY` seconds have passed since the last
        (the first after ``max(DELAY, EVERY)``)."""
        self.n += n
        now = self._clock()
        if now >= self._next:
            self._next = now + EVERY
            self._line(now)

    def close(self) -> None:
        """Write the final count if anything was shown, or if the work took over
        :data:`DELAY` seconds."""
        now = self._clock()
        if self._shown or now - self._started >= DELAY:
            self._line(now, done=True)

    def _line(self, now: float, *, done: bool = False) -> None:
        self._shown = True
        state = "done in" if done else "after"
        self.stream.write(f"{self.label}: {self.n:,}/{self.total:,} invoices, {state} "
                          f"{now - self._started:.0f} s\n")
        self.stream.flush()


def progress(total: int, label: str, stream: IO[str], *, initial: int = 0) -> Progress:
    """A bar on a terminal, :class:`LineProgress` elsewhere (see the module notes)."""
    isatty = getattr(stream, "isatty", None)
    if isatty is not None and isatty():
        from tqdm import tqdm

        return tqdm(total=total, initial=initial, desc=label, unit="inv", file=stream,
                    delay=DELAY, mininterval=MININTERVAL)
    return LineProgress(total, label, stream, initial=initial)
