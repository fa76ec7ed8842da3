"""Progress bars that stay quiet: shown only for work that takes a while, never as log spam.

A pull or a bulk job that finishes in under a second shows nothing: a bar that flashes up
and leaves ``invoices: 0inv`` behind in a saved notebook tells nobody anything. Where no one
watches (stderr is a file, a pipe or a captured stream, and no notebook), a bar asked for
explicitly is written at its start and its end only, never as a stream of carriage-return
redraws.
"""

from __future__ import annotations

import sys
from typing import Any

__all__ = ["DELAY", "LOG_INTERVAL", "REDRAW", "interactive", "progress_bar"]

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


def progress_bar(*, show: bool | None, total: int | None = None, desc: str, unit: str,
                 **options: Any) -> Any:
    """A ``tqdm.auto`` bar (a widget in a notebook, text elsewhere) that keeps quiet.

    Parameters
    ----------
    show
        ``None``: only when :func:`interactive`, and only once the work has taken
        :data:`DELAY` seconds (nothing at all for quicker work). ``True``: always, from the
        start. ``False``: never (a disabled bar, so callers need no ``if``).
    total, desc, unit
        As for tqdm.
    **options
        More tqdm options (``initial``, ...).

    Notes
    -----
    Callers must not call the bar's ``refresh()`` or ``set_description(...)`` without
    ``refresh=False``: either draws the bar at once, before the delay.
    """
    from tqdm.auto import tqdm

    watched = interactive()
    interval = REDRAW if watched else LOG_INTERVAL
    return tqdm(total=total, desc=desc, unit=unit,
                disable=not (watched if show is None else show),
                delay=DELAY if show is None else 0.0,
                mininterval=interval, maxinterval=max(interval, 10.0), **options)
