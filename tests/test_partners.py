"""Partner fan-out on Dask: 30 merchants on a real emulator served on loopback, a 2-worker
LocalCluster, faults, revoked grants, a SIGKILLed run, and readers other than pandas.

One emulator (clock frozen at 2025-06-30 12:00 UTC) and one cluster serve the module; every
test pulls into its own folder and compares with what each merchant pulls by itself, with
its own credentials, at that moment.
"""

from __future__ import annotations

import datetime as dt
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import dask.dataframe as dd
import duckdb
import orjson
import pandas as pd
import pytest
from distributed import Client as DaskClient
from distributed import LocalCluster
from helpers import invoice_body, wait_for

import ppnb.partners as partners
from ppnb.analysis import aging, kpis
from ppnb.client import AuthenticationError, Client, RetryPolicy
from ppnb.emulator import Clock, RunningEmulator, start
from ppnb.emulator._fleet import Fleet, revoke, seed_fleet
from ppnb.frames import Tables
from ppnb.pager import fetch_tables
from ppnb.partners import _dataset, _manifest
from ppnb.partners._task import PartnerConfig

TODAY = dt.datetime(2025, 6, 30, 12, tzinfo=dt.UTC)
KEYS = {"invoices": ["id"], "items": ["invoice_id", "line"],
        "payments": ["invoice_id", "payment_id"], "refunds": ["invoice_id", "refund_id"]}


@pytest.fixture(scope="module")
def cluster() -> Iterator[DaskClient]:
    with LocalCluster(n_workers=2, threads_per_worker=4, processes=True, host="127.0.0.1",
                      dashboard_address="127.0.0.1:0") as local, DaskClient(local) as client:
        yield client


@pytest.fixture(scope="module")
def world() -> Iterator[tuple[RunningEmulator, Fleet]]:
    with start(clock=Clock(TODAY, frozen=True), seed=20) as running:
        yield running, seed_fleet(running.emulator, 30, 20, denied=3, seed=4, step=1)
    running.emulator.close()


def _partner(running: RunningEmulator, fleet: Fleet) -> Client:
    return Client(running.base_url, fleet.partner.client_id, fleet.partner.client_secret)


def _own_pull(running: RunningEmulator, fleet: Fleet, payer_id: str) -> Tables:
    own = fleet.own(payer_id)
    with Client(running.base_url, own.client_id, own.client_secret) as client:
        return fetch_tables(client, progress=False)


def _same(left: Tables, right: Tables) -> bool:
    try:
        for name, keys in KEYS.items():
            pd.testing.assert_frame_equal(
                getattr(left, name).sort_values(keys, ignore_index=True),
                getattr(right, name).sort_values(keys, ignore_index=True), obj=name)
    except AssertionError:
        return False
    return True


def _assert_equal_to_own_pulls(path: Path, running: RunningEmulator, fleet: Fleet,
                               payer_ids: list[str]) -> None:
    for payer_id in payer_ids:
        mine = _own_pull(running, fleet, payer_id)
        assert len(mine.invoices) >= 20
        assert _same(partners.load(path, payer_id), mine), payer_id


def _change_books(running: RunningEmulator, fleet: Fleet, tag: str) -> None:
    """Every granted merchant gets a new sent invoice, and one open invoice is paid."""
    emulator, service = running.emulator, running.emulator.service
    emulator.clock.advance(seconds=60)
    for n, payer_id in enumerate(fleet.granted_ids):
        merchant = emulator.merchant(fleet.own(payer_id).client_id)
        created = orjson.loads(service.create_invoice(
            merchant, invoice_body(number=f"{tag}-{n:03d}", invoice_date="2025-06-01")))
        service.send_invoice(merchant, created["id"], {"send_to_recipient": False})
        unpaid, _, _ = service.search(merchant, {"status": ["UNPAID"]}, page=1, page_size=1)
        for doc in unpaid:
            service.record_payment(merchant, orjson.loads(doc)["id"], {"method": "CASH"})


def test_thirty_merchants_with_faults_and_three_revoked(
        world: tuple[RunningEmulator, Fleet], cluster: DaskClient, tmp_path: Path,
        capfd: pytest.CaptureFixture[str]) -> None:
    running, fleet = world
    running.emulator.faults.configure(rate=0.1, statuses=(429, 500, 503),
                                      drop_connections=True, seed=7)
    try:
        result = partners.sync(_partner(running, fleet), fleet.payer_ids, tmp_path,
                               client=cluster, progress=True)
    finally:
        injected = running.emulator.faults.settings()["injected"]
        running.emulator.faults.clear()
    assert sum(injected[k] for k in ("429", "500", "503", "dropped")) >= 5, injected
    assert list(result.columns) == list(partners.RESULT_COLUMNS)
    assert result["merchant"].tolist() == fleet.payer_ids
    by = result.set_index("merchant")
    assert (by.loc[fleet.granted_ids, "outcome"] == "synced").all(), by
    assert (by.loc[fleet.granted_ids, "mode"] == "full").all()
    assert (by.loc[fleet.granted_ids, "requests"] >= 2).all()
    assert (by.loc[fleet.granted_ids, "error"] == "").all()
    revoked = by.loc[fleet.denied_ids]
    assert (revoked["outcome"] == "revoked").all()
    assert revoked["error"].str.startswith("403 ").all()
    assert partners.merchants(tmp_path) == sorted(fleet.granted_ids)
    _assert_equal_to_own_pulls(tmp_path, running, fleet, fleet.granted_ids)
    assert "30/30" in capfd.readouterr().err  # the progress bar over merchants

    secret = fleet.partner.client_secret
    assert secret not in repr(PartnerConfig.of(_partner(running, fleet), 4))
    logs = repr(cluster.get_worker_logs()) + repr(cluster.get_scheduler_logs())
    assert secret not in logs
    for file in tmp_path.rglob("*"):
        assert not file.is_file() or secret.encode() not in file.read_bytes(), file


def test_dask_retries_what_outlasts_the_clients_own_retries(
        world: tuple[RunningEmulator, Fleet], cluster: DaskClient, tmp_path: Path) -> None:
    running, fleet = world
    some = fleet.granted_ids[:10]
    impatient = Client(running.base_url, fleet.partner.client_id, fleet.partner.client_secret,
                       retry=RetryPolicy(attempts=1))  # every fault reaches the task
    running.emulator.faults.configure(rate=0.2, statuses=(500, 503), seed=3)
    try:
        patient = partners.sync(impatient, some, tmp_path / "retried", client=cluster,
                                retries=20)
        injected = running.emulator.faults.settings()["injected"]
        once = partners.sync(impatient, some, tmp_path / "once", client=cluster, retries=0)
    finally:
        running.emulator.faults.clear()
    assert injected["500"] + injected["503"] >= 3, injected
    assert (patient["outcome"] == "synced").all(), patient
    _assert_equal_to_own_pulls(tmp_path / "retried", running, fleet, some)
    failed = once[once["outcome"] == "failed"]
    assert len(failed) >= 1 and failed["error"].str.startswith("TransientError: ").all()
    assert set(partners.merchants(tmp_path / "once")) == set(some) - set(failed["merchant"])


def test_rerun_is_incremental_and_a_revoked_merchant_keeps_its_data(
        world: tuple[RunningEmulator, Fleet], cluster: DaskClient, tmp_path: Path) -> None:
    running, fleet = world
    partner = _partner(running, fleet)
    first = partners.sync(partner, fleet.granted_ids, tmp_path, client=cluster)
    assert (first["outcome"] == "synced").all()
    leaving = fleet.granted_ids[0]
    kept = partners.load(tmp_path, leaving)
    _change_books(running, fleet, "RERUN")
    revoke(running.emulator, leaving, fleet.partner.client_id)
    try:
        again = partners.sync(partner, fleet.granted_ids, tmp_path, client=cluster)
    finally:
        running.emulator.grant(fleet.own(leaving).client_id, fleet.partner.client_id)
    by = again.set_index("merchant")
    assert by.loc[leaving, "outcome"] == "revoked"
    assert _same(partners.load(tmp_path, leaving), kept)  # its previous data, intact
    staying = fleet.granted_ids[1:]
    assert (by.loc[staying, "outcome"] == "synced").all()
    assert (by.loc[staying, "mode"] == "incremental").all()
    assert (by.loc[staying, "rows_changed"] >= 2).all()  # the new invoice, the paid one
    assert (by.loc[staying, "rows_changed"] < 21).all()  # not the whole book again
    _assert_equal_to_own_pulls(tmp_path, running, fleet, staying)


RUN = """
import os
from distributed import Client as Dask
from ppnb.client import Client
import ppnb.partners as partners
env = os.environ
partner = Client(env["PPNB_BASE_URL"], env["PPNB_CLIENT_ID"], env["PPNB_CLIENT_SECRET"])
with Dask(processes=False, n_workers=1, threads_per_worker=1,  # in-process: killed at once
          dashboard_address="127.0.0.1:0") as dask:
    partners.sync(partner, env["MERCHANTS"].split(","), env["DATASET"], client=dask,
                  progress=False)
"""


def test_a_killed_run_then_a_rerun_loses_and_duplicates_nothing(
        world: tuple[RunningEmulator, Fleet], cluster: DaskClient, tmp_path: Path) -> None:
    running, fleet = world
    partner, granted = _partner(running, fleet), fleet.granted_ids
    partners.sync(partner, fleet.payer_ids, tmp_path, client=cluster)
    before = {m: partners.load(tmp_path, m) for m in granted}
    finished_run = orjson.loads((tmp_path / "_ppnb" / "run.json").read_bytes())["run"]
    _change_books(running, fleet, "KILL")
    after = {m: _own_pull(running, fleet, m) for m in granted}

    def synced_in_new_run() -> dict[str, dict]:
        pointer = tmp_path / "_ppnb" / "run.json"
        run = orjson.loads(pointer.read_bytes())["run"]
        return {} if run == finished_run else _manifest.synced(tmp_path, run)

    running.emulator.faults.configure(latency_ms=(40, 80))  # a run long enough to cut short
    env = {**os.environ, "PPNB_BASE_URL": running.base_url, "DATASET": str(tmp_path),
           "PPNB_CLIENT_ID": fleet.partner.client_id,
           "PPNB_CLIENT_SECRET": fleet.partner.client_secret,
           "MERCHANTS": ",".join(fleet.payer_ids)}
    child = subprocess.Popen([sys.executable, "-c", RUN], env=env, stderr=subprocess.PIPE)
    try:
        wait_for(lambda: len(synced_in_new_run()) >= 3 or child.poll() is not None,
                 "three merchants synced by the child", timeout=120)
    finally:
        child.send_signal(signal.SIGKILL)
        _, stderr = child.communicate(timeout=30)
        running.emulator.faults.clear()
    done = set(synced_in_new_run())
    assert child.returncode == -signal.SIGKILL, stderr.decode()[-2000:]
    assert 3 <= len(done) < len(granted), "the kill must land mid-run"

    for merchant in granted:  # each file whole: the previous sync's or the new one's
        now = partners.load(tmp_path, merchant)
        for name in KEYS:
            assert (_same_table(now, before[merchant], name)
                    or _same_table(now, after[merchant], name)), (merchant, name)
        if merchant in done:
            assert _same(now, after[merchant]), merchant

    result = partners.sync(partner, fleet.payer_ids, tmp_path, client=cluster)
    by = result.set_index("merchant")
    assert set(by.index[by["outcome"] == "skipped"]) == done
    assert set(by.index[by["outcome"] == "synced"]) == set(granted) - done
    assert set(by.index[by["outcome"] == "revoked"]) == set(fleet.denied_ids)
    for merchant in granted:
        assert _same(partners.load(tmp_path, merchant), after[merchant]), merchant
    invoices = pd.read_parquet(tmp_path / "invoices")
    assert not invoices.duplicated(["merchant", "id"]).any()
    assert sorted(p.name for p in (tmp_path / "invoices").rglob("*") if p.is_file()) == [
        "part-0.parquet"] * len(granted)
    assert _dataset.pending(tmp_path) == []


def _same_table(left: Tables, right: Tables, name: str) -> bool:
    keys = KEYS[name]
    a = getattr(left, name).sort_values(keys, ignore_index=True)
    b = getattr(right, name).sort_values(keys, ignore_index=True)
    return a.equals(b) and list(a.dtypes) == list(b.dtypes)


@pytest.fixture(scope="module")
def dataset(world: tuple[RunningEmulator, Fleet], cluster: DaskClient,
            tmp_path_factory: pytest.TempPathFactory) -> Path:
    running, fleet = world
    path = tmp_path_factory.mktemp("partners")
    partners.sync(_partner(running, fleet), fleet.granted_ids, path, client=cluster)
    return path


def test_duckdb_and_dask_read_the_dataset_and_agree_with_pandas(
        dataset: Path, cluster: DaskClient) -> None:
    for table, keys in (("invoices", ["merchant", "id"]),
                        ("payments", ["merchant", "invoice_id", "payment_id"])):
        columns = [*keys, "currency", "amount_minor" if table == "payments" else "due_minor"]
        by_pandas = pd.read_parquet(dataset / table)
        by_dask = dd.read_parquet(dataset / table).compute()
        by_duckdb = duckdb.sql(f"SELECT * FROM '{dataset}/{table}/*/*.parquet'").df()  # README
        frames = [_plain(f[columns], keys) for f in (by_pandas, by_dask, by_duckdb)]
        assert len(frames[0]) > 100
        pd.testing.assert_frame_equal(frames[1], frames[0])
        pd.testing.assert_frame_equal(frames[2], frames[0])
    due = {name: frame.groupby(["merchant", "currency"])["due_minor"].sum().sort_index()
           for name, frame in (("pandas", _plain(pd.read_parquet(dataset / "invoices"), [])),
                               ("dask", _plain(dd.read_parquet(dataset / "invoices")
                                               .compute(), [])))}
    in_sql = duckdb.sql(f"SELECT merchant, currency, SUM(due_minor)::BIGINT AS due_minor FROM "
                        f"read_parquet('{dataset}/invoices/*/*.parquet', hive_partitioning "
                        f"= true) GROUP BY ALL").df()
    due["duckdb"] = _plain(in_sql, []).set_index(["merchant", "currency"])["due_minor"]
    pd.testing.assert_series_equal(due["dask"], due["pandas"])
    pd.testing.assert_series_equal(due["duckdb"].sort_index(), due["pandas"])
    created = pd.read_parquet(dataset / "invoices")["created"]
    assert str(created.dtype).endswith(", UTC]")  # instants keep their zone for any reader


def _plain(frame: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    """Values as plain Python-typed columns, so engines' dtype choices do not matter."""
    out = frame.copy()
    for column in out.columns:
        if column.endswith("_minor"):
            out[column] = out[column].astype("int64")
        else:
            out[column] = out[column].astype(str)
    return out.sort_values(keys, ignore_index=True) if keys else out


def test_aging_and_kpis_across_merchants_equal_each_merchant_alone(
        world: tuple[RunningEmulator, Fleet], cluster: DaskClient, dataset: Path) -> None:
    running, fleet = world
    aged = partners.aging(dataset, "2025-06-30", client=cluster)
    measured = partners.kpis(dataset, "2025-04-01", "2025-06-30", client=cluster)
    assert set(aged["merchant"]) == set(fleet.granted_ids)
    for payer_id in fleet.granted_ids:
        alone = _own_pull(running, fleet, payer_id)  # as the merchant pulls it, by itself
        expected = aging(alone, "2025-06-30", by="none").summary
        mine = aged[aged["merchant"] == payer_id].drop(columns="merchant")
        pd.testing.assert_frame_equal(mine.reset_index(drop=True), expected)
        expected = kpis(alone, "2025-04-01", "2025-06-30")
        mine = measured[measured["merchant"] == payer_id].drop(columns="merchant")
        pd.testing.assert_frame_equal(mine.reset_index(drop=True), expected)
    assert aged["total"].sum() > 0 and len(set(aged["currency"])) >= 3


def test_bad_input_is_refused_before_anything_is_written(
        world: tuple[RunningEmulator, Fleet], tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    running, fleet = world
    partner, target = _partner(running, fleet), tmp_path / "never"
    for bad in ("buyer@example.com", "A/B", "merchant=X", "", "Ä1", 42, "X" * 65):
        with pytest.raises(ValueError, match="not a PayPal merchant"):
            partners.sync(partner, ["GOOD1", bad], target)
    with pytest.raises(ValueError, match="not one string"):
        partners.sync(partner, "GOOD1", target)
    with pytest.raises(ValueError, match="acts for a merchant"):
        partners.sync(partner.acting_for(payer_id="GOOD1"), ["GOOD1"], target)
    wrong = Client(running.base_url, fleet.partner.client_id, "not-the-secret")
    with pytest.raises(AuthenticationError):
        partners.sync(wrong, ["GOOD1"], target)
    monkeypatch.setitem(sys.modules, "distributed", None)  # as if dask were not installed
    with pytest.raises(ImportError, match=r"^ppnb.partners needs dask.distributed: pip install "
                                          r"'ppnb\[partners\]'$"):
        partners.sync(partner, ["GOOD1"], target)
    assert not target.exists()
    with pytest.raises(FileNotFoundError, match="no partner dataset"):
        partners.aging(target, "2025-06-30")


@pytest.mark.filterwarnings("ignore:The inplace keyword in DataFrame.reset_index")  # dask's own
def test_an_interrupted_publish_is_finished_by_the_next_run(
        world: tuple[RunningEmulator, Fleet], tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    running, fleet = world
    merchant, other = fleet.granted_ids[:2]
    old, new = _own_pull(running, fleet, other), _own_pull(running, fleet, merchant)
    _dataset.publish(tmp_path, merchant, old)
    replaced: list[str] = []
    real_replace = os.replace

    def crash_on_second(src: str | Path, dst: str | Path) -> None:
        if Path(dst).name == _dataset.PART:
            replaced.append(str(dst))
            if len(replaced) == 2:
                raise KeyboardInterrupt  # the process stops between two switches
        real_replace(src, dst)

    monkeypatch.setattr(_dataset.os, "replace", crash_on_second)
    with pytest.raises(KeyboardInterrupt):
        _dataset.publish(tmp_path, merchant, new)
    monkeypatch.undo()
    now = partners.load(tmp_path, merchant)
    assert _same_table(now, new, "invoices") and _same_table(now, old, "items")
    assert _dataset.pending(tmp_path) == [merchant]
    visible = [p for p in tmp_path.rglob("*.parquet") if not p.name.startswith(".")]
    assert len(visible) == 4  # one file per table: never a duplicate for readers
    assert list(tmp_path.rglob(".part-0.parquet.*.tmp"))  # the staged files are there ...
    assert len(pd.read_parquet(tmp_path / "items")) == len(old.items)  # ... and unread
    assert len(dd.read_parquet(tmp_path / "items").compute()) == len(old.items)
    _dataset.recover(tmp_path, merchant)
    assert _same(partners.load(tmp_path, merchant), new)
    assert _dataset.pending(tmp_path) == []
    assert not list(tmp_path.rglob(".part-*"))
