"""The fan-out: every merchant's sync as one Dask task, gathered into one result table."""

from __future__ import annotations

import logging
import uuid
from collections import Counter
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import httpx
import pandas as pd

from ..client import AuthenticationError, Client, PayPalError
from . import _dataset, _manifest
from ._cluster import distributed, progress_bar, session
from ._task import RESULT_COLUMNS, PartnerConfig, locked, record, sync_merchant

__all__ = ["sync"]

log = logging.getLogger("ppnb.partners")

_DTYPES = {"merchant": "string", "outcome": "string", "mode": "string", "requests": "int64",
           "rows_changed": "int64", "error": "string"}


def sync(partner_client: Client, merchants: Iterable[str], path: str | Path, *,
         client: Any = None, resume: bool = True, retries: int = 2, workers: int | None = None,
         threads: int = 8, concurrency: int = 4, page_size: int = 100,
         progress: bool | None = None) -> pd.DataFrame:
    """Sync every merchant's book through ``acting_for``, one Dask task per merchant.

    Each merchant is pulled incrementally (:func:`ppnb.sync` in its working folder under
    ``path/_ppnb/books``) and its tables are published into the shared Hive-partitioned
    datasets ``path/<table>/merchant=<id>/``. A merchant's partition is replaced only once
    its sync completed, so an interruption at any moment leaves every merchant's previous
    data in place; a rerun resumes the interrupted run and skips the merchants it already
    synced.

    Parameters
    ----------
    partner_client
        The partner app's own :class:`ppnb.client.Client`. Its credentials go to the
        workers once per run, with the secret kept out of every repr and task key.
    merchants
        PayPal merchant (payer) ids that granted the partner; each names a partition, so
        only letters, digits, ``-`` and ``_`` are accepted.
    path
        The dataset's folder, on storage every worker shares (any local folder for the
        default local cluster).
    client
        Where to run: ``None`` starts a ``LocalCluster`` of ``workers`` processes ×
        ``threads`` threads on loopback for this call; a scheduler address or a
        ``distributed.Client`` runs on that cluster (with ppnb installed on its workers).
    resume
        Continue an unfinished run (the merchants it synced are skipped); false starts a new
        run that syncs everyone.
    retries
        Dask retries of a merchant's task after transient trouble (no answer, 429 or 5xx
        after the client's own retries) or a lost worker.
    workers, threads
        Size of the default ``LocalCluster``.
    concurrency, page_size
        Pages in flight per merchant, and invoices per page (PayPal's maximum is 100).
    progress
        A progress bar over merchants; default: when interactive.

    Returns
    -------
    pandas.DataFrame
        One row per merchant, in the order given: ``merchant``; ``outcome`` — ``synced``,
        ``skipped`` (synced earlier in this run), ``revoked`` (403: the partner may not act
        for it; its previous data stays) or ``failed``; ``mode`` (``full`` or
        ``incremental``); ``requests`` sent for it (retries included); ``rows_changed``
        (invoices re-read or dropped); ``error`` (empty unless revoked or failed).

    Raises
    ------
    ValueError
        For a bad merchant id, ``page_size`` or ``partner_client`` (nothing is written).
    ppnb.client.AuthenticationError
        If PayPal refuses the partner's credentials (checked once, before any task).
    ImportError
        Without dask.distributed (``pip install 'ppnb[partners]'``).
    """
    distributed()  # without Dask, say so before anything else
    ids = _dataset.check_merchants(merchants)
    if not 1 <= page_size <= 100 or concurrency < 1 or threads < 1 or retries < 0:
        raise ValueError(f"need 1 <= page_size <= 100, concurrency >= 1, threads >= 1 and "
                         f"retries >= 0; got page_size={page_size}, concurrency={concurrency}, "
                         f"threads={threads}, retries={retries}")
    PartnerConfig.of(partner_client, 1)  # refuses a client acting for a merchant
    _check_credentials(partner_client)
    root = Path(path)
    with session(client, workers=workers, threads=threads) as dask_client:
        root.mkdir(parents=True, exist_ok=True)
        for merchant in _dataset.pending(root):
            with locked(root, merchant):
                _dataset.recover(root, merchant)
        run = _manifest.begin(root, resume=resume)
        earlier = _manifest.synced(root, run)
        records = {m: record(m, "skipped") for m in ids if m in earlier}
        todo = [m for m in ids if m not in earlier]
        width = max(dask_client.nthreads().values(), default=threads)
        config = dask_client.scatter(PartnerConfig.of(partner_client, width * concurrency),
                                     broadcast=True, hash=False)
        options = {"concurrency": concurrency, "page_size": page_size}
        call = uuid.uuid4().hex[:8]
        futures = {dask_client.submit(sync_merchant, config, m, str(root), run, options,
                                      key=f"ppnb-sync-{m}-{call}", retries=retries): m
                   for m in todo}
        bar = progress_bar(len(ids), len(records), show=progress, client=dask_client)
        counts = Counter(r["outcome"] for r in records.values())
        try:
            for future in distributed().as_completed(futures):
                merchant = futures[future]
                records[merchant] = _outcome(merchant, future)
                counts[records[merchant]["outcome"]] += 1
                bar.set_postfix(counts, refresh=False)
                bar.update()
        except BaseException:
            dask_client.cancel(list(futures))
            raise
        finally:
            bar.close()
        _manifest.finish(root, run)
    rows = [records[m] for m in ids]
    return pd.DataFrame(rows, columns=list(RESULT_COLUMNS)).astype(_DTYPES)


def _check_credentials(partner: Client) -> None:
    """Fetch a token once: refused credentials fail here, not once per merchant.

    Other errors are left to the tasks, whose requests retry token fetches on their own.
    """
    try:
        partner.get_token()
    except AuthenticationError:
        raise
    except (PayPalError, httpx.TransportError) as exc:
        log.info("could not check the partner's credentials up front (%s); the tasks will "
                 "fetch tokens themselves", exc)


def _outcome(merchant: str, future: Any) -> dict[str, Any]:
    """A finished task's record; a task that kept failing becomes a ``failed`` record."""
    if future.status == "finished":
        return future.result()
    if future.status == "error":
        error = future.exception()
        return record(merchant, "failed", error=f"{type(error).__name__}: {error}")
    return record(merchant, "failed", error=f"the task was {future.status}")
