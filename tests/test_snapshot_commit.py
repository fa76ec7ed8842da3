"""A snapshot commit killed at any step, or out of disk at any step, never wedges a sync.

Every disk operation of the commit (table files, state, fsyncs, renames, the ``CURRENT``
switch, the clean-up) is counted on one sync; then the commit is failed at each of those
operations in turn, once as a dying process (an exception nothing catches) and once as a full
disk (``ENOSPC``). After each failure the snapshot on disk is a complete one (the previous, or
the new one when the failure came after the switch), and the next sync succeeds and equals a
fresh full pull.
"""

from __future__ import annotations

import datetime as dt
import errno
import os
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

import ppnb
from ppnb.client import Client
from ppnb.emulator import Clock, start

TODAY = dt.datetime(2025, 6, 30, 12, tzinfo=dt.UTC)
KEYS = {"invoices": ["id"], "items": ["invoice_id", "line"],
        "payments": ["invoice_id", "payment_id"], "refunds": ["invoice_id", "refund_id"]}
#: The operations a commit performs on the disk, by where they live.
OPERATIONS: list[tuple[Any, str]] = [
    (pd.DataFrame, "to_parquet"), (Path, "write_text"), (Path, "mkdir"), (Path, "unlink"),
    (os, "replace"), (os, "fsync"), (shutil, "rmtree")]


class Died(BaseException):
    """The process dying mid-commit: nothing in ppnb may catch it."""


def body(i: int) -> dict[str, Any]:
    return {"detail": {"currency_code": "USD", "invoice_number": f"C-{i:04d}",
                       "invoice_date": "2025-06-01", "payment_term": {"term_type": "NET_30"}},
            "primary_recipients": [{"billing_info": {"email_address": f"c{i % 5}@ex.com"}}],
            "items": [{"name": "Service", "quantity": "1",
                       "unit_amount": {"currency_code": "USD", "value": f"{10 + i}.50"}}]}


@pytest.fixture(scope="module")
def client() -> Iterator[Client]:
    with start(clock=Clock(TODAY, frozen=True), seed=5) as running:
        creds = running.credentials
        with Client(running.base_url, creds.client_id, creds.client_secret) as made:
            for i in range(12):
                invoice = made.invoices.create(body(i))
                if i % 3:
                    made.invoices.send(invoice["id"], {"send_to_recipient": False})
            yield made


def inject(monkeypatch: pytest.MonkeyPatch, fail_at: int | None,
           error: Callable[[], BaseException]) -> list[str]:
    """Count the commit's disk operations; raise ``error()`` at operation ``fail_at``."""
    done: list[str] = []
    for owner, name in OPERATIONS:
        real = getattr(owner, name)

        def wrapped(*args: Any, _real: Any = real, _name: str = name, **kwargs: Any) -> Any:
            if len(done) == fail_at:
                done.append(f"{_name} (failed)")
                raise error()
            done.append(_name)
            return _real(*args, **kwargs)

        monkeypatch.setattr(owner, name, wrapped)
    return done


def assert_same(left: ppnb.Tables, right: ppnb.Tables) -> None:
    for name, keys in KEYS.items():
        pd.testing.assert_frame_equal(getattr(left, name).sort_values(keys, ignore_index=True),
                                      getattr(right, name).sort_values(keys, ignore_index=True),
                                      obj=name)


def versions(root: Path) -> list[str]:
    return sorted(p.name for p in root.iterdir())


@pytest.mark.parametrize("failure", ["killed", "disk-full"])
def test_a_commit_failed_at_any_step_leaves_a_snapshot_and_the_next_sync_works(
        client: Client, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, failure: str) -> None:
    error: Callable[[], BaseException] = (
        Died if failure == "killed" else lambda: OSError(errno.ENOSPC, "No space left on device"))
    root = tmp_path / "book"
    ppnb.sync(client, root)
    with monkeypatch.context() as patch:  # count the steps of one commit
        steps = inject(patch, None, error)
        ppnb.sync(client, root, full=True)
    assert {"to_parquet", "fsync", "replace"} <= set(steps) and len(steps) >= 12

    for fail_at in range(len(steps)):
        before = ppnb.load(root)
        with monkeypatch.context() as patch:
            done = inject(patch, fail_at, error)
            with pytest.raises((Died, OSError)):
                ppnb.sync(client, root, full=True)
        assert done[-1].endswith("(failed)"), done
        after = ppnb.load(root)  # always a complete snapshot: the old one, or the new one
        assert_same(after, before)  # (nothing changed upstream, so both equal the book)
        synced = ppnb.sync(client, root, full=True)  # never wedged by what was left
        assert_same(synced.tables, ppnb.fetch_tables(client, progress=False))
        assert [v for v in versions(root) if v != "CURRENT"] == [
            (root / "CURRENT").read_text()], f"left behind after failing at {done[-1]}"


def test_a_version_renamed_but_never_switched_is_replaced_not_tripped_over(
        client: Client, tmp_path: Path) -> None:
    """The state issue 15 found: ``v-N`` renamed into place, ``CURRENT`` still on ``v-N-1``."""
    root = tmp_path / "book"
    ppnb.sync(client, root)
    current = (root / "CURRENT").read_text()
    orphan = root / f"v-{int(current[2:]) + 1:06d}"
    shutil.copytree(root / current, orphan)
    (orphan / "invoices.parquet").write_bytes(b"torn")
    (root / "v-000099.partial").mkdir()

    result = ppnb.sync(client, root)
    assert versions(root) == ["CURRENT", (root / "CURRENT").read_text()]
    assert_same(result.tables, ppnb.fetch_tables(client, progress=False))
