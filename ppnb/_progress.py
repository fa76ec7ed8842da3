"""Progress bars that stay quiet: shown only for work that takes a while, never as log spam.

A pull or a bulk job that finishes in under a second shows nothing: a bar that flashes up
and leaves ``invoices: 0inv`` behind in a saved notebook tells nobody anything. Where no one
watches (stderr is a file, a pipe or a captured stream, and no notebook), progress asked for
is :class:`LineProgress`: whole lines (one every :data:`LOG_INTERVAL` seconds and the final
count), never a carriage return.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Mapping
from typing import IO, Any

__all__ = ["DELAY", "LOG_INTERVAL", "REDRAW", "LineProgress", "interactive", "progress_bar"]

#: Seconds of work before a bar shown by default appears.
DELAY = 1.0
#: Seconds between redraws in a notebook or a terminal.
REDRAW = 0.5
#: Seconds between lines where stderr is not a terminal (a log): long enough that a run
#: writes its start and end and, for a very long run, one line now and then.
LOG_INTERVAL = 60.0


def _in_notebook() -> bool:
    shell = sys.modules.get("IPython")
    return shell is not None and getattr(shell, "get_ipython", lambda: None)() is not None


def interactive() -> bool:
    """Whether someone is watching: an IPython shell or notebook, or stderr is a terminal."""
    return _in_notebook() or sys.stderr.isatty()


class LineProgress:
    """Progress as whole lines (``seed demo: 1,200/2,000 inv, after 60 s``), for logs.

    It answers what callers use of a tqdm bar (``n``, ``total``, ``update``,
    ``set_description``, ``set_postfix``, ``write``, ``close``, ``disable``), so it stands in
    for one where no one watches.

    Parameters
    ----------
    total
        The count it will reach (callers may raise it as they learn more).
    desc, unit
        What is counted, as for tqdm.
    stream
        Where lines go (default stderr).
    initial
        The count it starts from (work done before it was made).
    delay
        Seconds of work before anything is written: nothing at all for quicker work.
    clock
        Seconds, monotonic (``time.monotonic``; tests pass their own).
    """

    disable = False

    def __init__(self, total: int | None, desc: str, unit: str, stream: IO[str] | None = None,
                 *, initial: int = 0, delay: float = DELAY,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.total, self.desc, self.unit, self.n = total, desc, unit, initial
        self.stream = stream if stream is not None else sys.stderr
        self.delay, self.postfix = delay, ""
        self._clock = clock
        self._started = self._last = clock()
        self._shown = False

    def update(self, n: int = 1) -> None:
        """Count ``n`` more; write a line once :data:`LOG_INTERVAL` seconds have passed since
        the start or the last line (and at least ``delay`` since the start)."""
        self.n += n
        now = self._clock()
        if now - self._last >= LOG_INTERVAL and now - self._started >= self.delay:
            self._last = now
            self._line(now)

    def set_description(self, desc: str, refresh: bool = True) -> None:
        """Name what is counted from now on (``refresh`` is tqdm's; lines ignore it)."""
        self.desc = desc

    def set_postfix(self, ordered_dict: Mapping[str, Any] | None = None, refresh: bool = True,
                    **values: Any) -> None:
        """Figures written after the count on the next line (``ok=3, skipped=1``), given as
        tqdm takes them: a mapping, keywords or both."""
        values = {**(ordered_dict or {}), **values}
        self.postfix = ", ".join(f"{k}={v}" for k, v in values.items())

    def write(self, message: str) -> None:
        """Write a message line of its own."""
        self.stream.write(message + "\n")
        self.stream.flush()

    def close(self) -> None:
        """Write the final count, unless nothing was shown and the work took under
        ``delay`` seconds."""
        now = self._clock()
        if self._shown or now - self._started >= self.delay:
            self._line(now, done=True)

    def _line(self, now: float, *, done: bool = False) -> None:
        self._shown = True
        total = f"/{self.total:,}" if self.total is not None else ""
        extra = f" ({self.postfix})" if self.postfix else ""
        state = "done in" if done else "after"
        self.write(f"{self.desc}: {self.n:,}{total} {self.unit}{extra}, {state} "
                   f"{now - self._started:.0f} s")


def progress_bar(*, show: bool | None, total: int | None = None, desc: str, unit: str,
                 log: bool = False, **options: Any) -> Any:
    """A ``tqdm.auto`` bar (a widget in a notebook, text in a terminal) that keeps quiet, or
    :class:`LineProgress` where no one watches.

    Parameters
    ----------
    show
        ``None``: where someone watches (:func:`interactive`), a bar once the work has taken
        :data:`DELAY` seconds (nothing at all for quicker work); elsewhere nothing, or lines
        with ``log``. ``True``: always, from the start (lines where no one watches).
        ``False``: never (a disabled bar, so callers need no ``if``).
    total, desc, unit
        As for tqdm.
    log
        With ``show=None``, lines where no one watches (a seed run in a script or CI says
        how far it got) rather than nothing.
    **options
        More tqdm options (``initial``, ...); :class:`LineProgress` takes ``initial``.

    Notes
    -----
    Callers must not call the bar's ``refresh()`` or ``set_description(...)`` without
    ``refresh=False``: either draws the bar at once, before the delay.
    """
    from tqdm.auto import tqdm

    watched = interactive()
    if not watched and show is not False and (show or log):
        return LineProgress(total, desc, unit, initial=options.get("initial", 0),
                            delay=DELAY if show is None else 0.0)
    return tqdm(total=total, desc=desc, unit=unit,
                disable=not (watched if show is None else show),
                delay=DELAY if show is None else 0.0,
                mininterval=REDRAW, maxinterval=10.0, **options)
