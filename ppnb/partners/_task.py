"""One merchant's sync, as a Dask task: pull incrementally, publish, record.

The task runs on a worker. It gets the partner app's :class:`PartnerConfig` (scattered once
per run; the secret is masked in every repr and never part of a task key), builds one
partner :class:`~ppnb.client.Client` per worker process (so the OAuth token and the
connection pool are shared by every merchant that worker syncs), and for its merchant:

1. takes the merchant's lock (a file lock: one sync of a merchant at a time, even if a
   killed run left a task running on the cluster);
2. finishes an interrupted publish of the merchant, if any;
3. skips the merchant if the run manifest already records it (a task of a killed run may
   have finished it meanwhile);
4. runs :func:`ppnb.sync` acting for the merchant, in its working folder;
5. publishes the merged tables into the shared datasets, then records the merchant in the
   run manifest.

Errors: 403 (the merchant revoked or never granted the partner) returns a ``revoked`` record
and other permanent refusals (401, 400/404/409/422, data ppnb cannot represent exactly) a
``failed`` one; nothing of the merchant's is changed. Transient trouble that outlasted the
client's own retries (no answer, 429, 5xx) raises :class:`TransientError`, which Dask
retries (``retries=``); a worker that dies is Dask's to reschedule.
"""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .._errors import PPNBError
from ..client import (
    AuthenticationError,
    Client,
    InvalidRequest,
    NotFound,
    PayPalError,
    PermissionDenied,
    RetryPolicy,
)
from ..pager import PagerError
from ..snapshot import sync
from . import _dataset, _manifest

__all__ = ["RESULT_COLUMNS", "PartnerConfig", "TransientError", "locked", "record",
           "sync_merchant"]

#: Columns of the result of :func:`ppnb.partners.sync`, in order.
RESULT_COLUMNS = ("merchant", "outcome", "mode", "requests", "rows_changed", "error")
_PERMANENT = (AuthenticationError, InvalidRequest, NotFound, ValueError)


class TransientError(RuntimeError, PPNBError):
    """A merchant's sync met trouble that may pass (Dask retries the task)."""


@dataclass(frozen=True)
class PartnerConfig:
    """What a worker needs to act as the partner app. The secret never shows in a repr.

    Attributes
    ----------
    base_url, client_id, client_secret
        The partner app's API root and credentials.
    retry
        The partner client's retry policy.
    max_connections
        Connection-pool size of each worker's client (threads × pages in flight).
    """

    base_url: str
    client_id: str
    client_secret: str
    retry: RetryPolicy
    max_connections: int = 16

    def __repr__(self) -> str:
        return (f"PartnerConfig(base_url={self.base_url!r}, client_id={self.client_id!r}, "
                f"client_secret='***')")

    __str__ = __repr__

    @classmethod
    def of(cls, partner: Client, max_connections: int) -> PartnerConfig:
        """The config of a partner's own client (not one made by ``acting_for``).

        Raises
        ------
        ValueError
            If ``partner`` is not a :class:`ppnb.client.Client` or already acts for a
            merchant.
        """
        if not isinstance(partner, Client):
            raise ValueError(f"partner_client must be a ppnb.client.Client, got "
                             f"{type(partner).__name__}")
        if partner._assertion:
            raise ValueError("partner_client acts for a merchant already (acting_for); pass "
                             "the partner app's own client")
        return cls(partner.base_url, partner.client_id, partner._auth._secret, partner.retry,
                   max_connections)


@functools.lru_cache(maxsize=4)
def _partner(config: PartnerConfig) -> Client:
    """This process's client for the partner app (thread-safe; shared by its tasks)."""
    return Client(config.base_url, config.client_id, config.client_secret, retry=config.retry,
                  max_connections=config.max_connections)


def record(merchant: str, outcome: str, *, mode: str = "", requests: int = 0,
           changed: int = 0, error: str = "") -> dict[str, Any]:
    """A row of the result table."""
    return dict(zip(RESULT_COLUMNS, (merchant, outcome, mode, requests, changed, error),
                    strict=True))


@contextlib.contextmanager
def locked(root: Path, merchant: str) -> Iterator[None]:
    """Hold the merchant's lock: a file lock across processes and machines sharing ``root``
    (released by the OS if the holder dies), and a thread lock within this process."""
    import locket

    with locket.lock_file(str(_dataset.state_dir(root, "locks") / f"{merchant}.lock")):
        yield


def sync_merchant(config: PartnerConfig, merchant: str, path: str, run: str,
                  options: dict[str, Any]) -> dict[str, Any]:
    """Sync and publish one merchant; returns its result record (see the module docstring).

    Raises
    ------
    TransientError
        When the API stayed unavailable or rate-limited beyond the client's retries.
    """
    root = Path(path)
    with locked(root, merchant):
        _dataset.recover(root, merchant)
        if _manifest.has(root, run, merchant):
            return record(merchant, "skipped")
        client = _partner(config).acting_for(payer_id=merchant)
        try:
            result = sync(client, _dataset.state_dir(root, "books", merchant),
                          progress=False, **options)
        except PermissionDenied as exc:
            return record(merchant, "revoked", requests=client.stats["requests"],
                          error=str(exc))
        except _PERMANENT as exc:
            return record(merchant, "failed", requests=client.stats["requests"],
                          error=f"{type(exc).__name__}: {exc}")
        except (PayPalError, PagerError) as exc:
            raise TransientError(f"{merchant}: {type(exc).__name__}: {exc}") from None
        _dataset.publish(root, merchant, result.tables)
        done = record(merchant, "synced", mode=result.mode, requests=result.requests,
                      changed=result.changed + result.removed)
        _manifest.mark(root, run, merchant, done)
        return done
