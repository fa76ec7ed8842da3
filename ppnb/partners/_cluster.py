"""Where the work runs: a Dask client for the duration of a call, and its progress bar.

Dask is imported on first use only, so ``import ppnb.partners`` works without it and says
how to install it when it is needed.
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
from collections.abc import Iterator
from types import ModuleType
from typing import Any

from .. import _progress

__all__ = ["distributed", "progress_bar", "session"]

INSTALL = "ppnb.partners needs dask.distributed: pip install 'ppnb[partners]'"


def distributed() -> ModuleType:
    """The ``distributed`` module, or one clear ImportError naming the extra to install."""
    try:
        import distributed as module
    except ImportError:
        raise ImportError(INSTALL) from None
    return module


@contextlib.contextmanager
def session(client: Any, *, workers: int | None, threads: int) -> Iterator[Any]:
    """A ``distributed.Client`` for one call.

    Parameters
    ----------
    client
        ``None``: a ``LocalCluster`` of worker processes on loopback, closed afterwards
        (its dashboard, when bokeh is installed, on a free 127.0.0.1 port); a scheduler
        address such as ``"tcp://10.0.0.5:8786"``: a client to it, closed afterwards; a
        ``distributed.Client``: used as it is and left open.
    workers, threads
        The ``LocalCluster``'s worker processes (default: the cores, at most 4) and threads
        per worker (merchants in flight per worker: the work waits on the network).
    """
    dask = distributed()
    if client is None:
        count = workers or min(4, os.cpu_count() or 1)
        with dask.LocalCluster(n_workers=count, threads_per_worker=threads, processes=True,
                               host="127.0.0.1", dashboard_address="127.0.0.1:0") as cluster, \
                dask.Client(cluster) as local:
            yield local
    elif isinstance(client, str):
        with dask.Client(client) as remote:
            yield remote
    elif isinstance(client, dask.Client):
        yield client
    else:
        raise ValueError(f"client must be None, a scheduler address or a distributed.Client, "
                         f"got {type(client).__name__}")


def dashboard(client: Any) -> str | None:
    """The Dask dashboard's link, when the dashboard can be served (bokeh is installed)."""
    if importlib.util.find_spec("bokeh") is None:
        return None
    return client.dashboard_link or None


def progress_bar(total: int, done: int, *, show: bool | None, client: Any) -> Any:
    """ppnb's quiet bar over merchants (:func:`ppnb._progress.progress_bar`), with the
    dashboard's link.

    ``show=None`` shows it only when interactive (a notebook or a terminal), after a second.
    """
    bar = _progress.progress_bar(show=show, total=total, initial=done, unit="merchant",
                                 desc="merchants")
    link = dashboard(client)
    if link and not bar.disable:
        bar.write(f"Dask dashboard: {link}")
    return bar
