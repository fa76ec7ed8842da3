"""Aging and KPIs across merchants: one :mod:`ppnb.analysis` call per merchant partition,
on Dask.

Each task reads one merchant's four tables (:func:`ppnb.partners.load`) and runs ppnb's own
analysis on them, so a merchant's rows are exactly what :func:`ppnb.analysis.aging` or
:func:`ppnb.analysis.kpis` gives for that merchant alone; the driver only stacks them with
a ``merchant`` column in front.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd

from .. import analysis
from ..frames import empty_tables
from ._cluster import session
from ._dataset import load, merchants

__all__ = ["aging", "kpis"]


def _aging_one(path: str, merchant: str, as_of: Any, options: dict[str, Any]) -> pd.DataFrame:
    return analysis.aging(load(path, merchant), as_of, **options).summary


def _kpis_one(path: str, merchant: str, start: Any, end: Any, options: dict[str, Any]
              ) -> pd.DataFrame:
    return analysis.kpis(load(path, merchant), start, end, **options)


def _per_merchant(path: str | Path, client: Any, name: str,
                  one: Callable[..., pd.DataFrame], empty: pd.DataFrame,
                  *args: Any) -> pd.DataFrame:
    """``one(path, merchant, *args)`` for every merchant on Dask, stacked with ``merchant``."""
    ids, call = merchants(path), uuid.uuid4().hex[:8]
    with session(client, workers=None, threads=1) as dask_client:
        futures = [dask_client.submit(one, str(path), m, *args, key=f"ppnb-{name}-{m}-{call}")
                   for m in ids]
        parts = dask_client.gather(futures)
    frames = [part.assign(merchant=m) for m, part in zip(ids, parts, strict=True) if len(part)]
    stacked = pd.concat(frames, ignore_index=True) if frames else empty.assign(merchant="")
    stacked["merchant"] = stacked["merchant"].astype("string")
    return stacked[["merchant", *empty.columns]]


def aging(path: str | Path, as_of: Any, *, client: Any = None, **options: Any) -> pd.DataFrame:
    """Aged receivables of every merchant in the dataset, per merchant × currency.

    Runs :func:`ppnb.analysis.aging` on each merchant's partition as one Dask task and
    stacks the ``summary`` tables.

    Parameters
    ----------
    path
        A dataset written by :func:`ppnb.partners.sync`.
    as_of
        The date to age at (explicit: a partner's merchants share no "today").
    client
        As for :func:`ppnb.partners.sync`: ``None`` (a local cluster for this call), a
        scheduler address, or a ``distributed.Client``.
    **options
        Passed to :func:`ppnb.analysis.aging` (``basis``, ``buckets``, ``by``); ``by``
        defaults to ``"none"``: one row per merchant × currency.

    Returns
    -------
    pandas.DataFrame
        ``merchant`` then the columns of :attr:`ppnb.analysis.Aging.summary` (bucket
        amounts and ``total`` as int64 minor units of the row's currency), sorted by
        merchant, then as ppnb.analysis sorts.
    """
    options.setdefault("by", "none")
    empty = analysis.aging(empty_tables(), as_of, **options).summary
    return _per_merchant(path, client, "aging", _aging_one, empty, as_of, options)


def kpis(path: str | Path, start: Any, end: Any, *, client: Any = None,
         **options: Any) -> pd.DataFrame:
    """Collection KPIs of every merchant in the dataset for ``start``..``end``, per
    merchant × currency: :func:`ppnb.analysis.kpis` on each partition as one Dask task.

    ``options`` go to :func:`ppnb.analysis.kpis` (``basis``, ``month_days``); ``client`` is
    as for :func:`aging`. Returns ``merchant`` then :data:`ppnb.analysis._kpis.KPI_COLUMNS`.
    """
    empty = analysis.kpis(empty_tables(), start, end, **options)
    return _per_merchant(path, client, "kpis", _kpis_one, empty, start, end, options)
