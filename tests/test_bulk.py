"""Bulk actions: the dry run, the run, and exactly-once under faults, retries and crashes."""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import orjson
import pandas as pd
import pytest
from helpers import new_merchant

from ppnb.actions import (
    BulkError,
    JobBusy,
    Journal,
    ReminderLedger,
    bulk,
    job_calls,
    reminder_history,
    request_id,
)
from ppnb.client import Client, RetryPolicy
from ppnb.emulator import RunningEmulator
from ppnb.pager import fetch_invoices

TODAY = dt.date(2025, 1, 15)


@pytest.fixture(scope="module")
def running(frozen: RunningEmulator) -> RunningEmulator:
    """A private emulator (faults are emulator-wide) frozen at 2025-01-15 09:00 UTC."""
    return frozen


@pytest.fixture
def creds(running: RunningEmulator) -> Iterator[tuple[str, str]]:
    """A fresh merchant; faults are cleared after each test."""
    yield new_merchant(running.emulator)
    running.emulator.faults.clear()


@pytest.fixture
def client(running: RunningEmulator, creds: tuple[str, str]) -> Iterator[Client]:
    with Client(running.base_url, *creds) as made:
        yield made


def book(client: Client, sent: int, drafts: int = 0, prefix: str = "B") -> list[str]:
    """``sent`` sent invoices then ``drafts`` drafts (100.00 USD each); returns their ids."""
    ids = []
    for n in range(sent + drafts):
        invoice = client.invoices.create({
            "detail": {"currency_code": "USD", "invoice_number": f"{prefix}-{n:03d}"},
            "primary_recipients": [{"billing_info": {"email_address": f"c{n}@example.com"}}],
            "items": [{"name": "Work", "quantity": "1",
                       "unit_amount": {"currency_code": "USD", "value": "100.00"}}]})
        if n < sent:
            client.invoices.send(invoice["id"])
        ids.append(invoice["id"])
    return ids


def reminders(running: RunningEmulator, ids: list[str]) -> list[int]:
    return [len(running.emulator.outbox(invoice_id=i, kind="reminder")) for i in ids]


def effects(running: RunningEmulator, ids: list[str]) -> list[int]:
    """Reminders applied per invoice by the emulator's own count (replays are not effects)."""
    return [running.emulator.stats(invoice_id=i)["invoice"].get("reminded", 0) for i in ids]


def run(client: Client, action: str, invoices: Any, tmp_path: Path, **kw: Any) -> pd.DataFrame:
    return bulk(client, action, invoices, journal_dir=tmp_path, progress=False, today=TODAY,
                **kw)


# --- the dry run --------------------------------------------------------------------------------


def test_dry_run_plans_and_changes_nothing(client: Client, running: RunningEmulator,
                                           tmp_path: Path) -> None:
    ids = book(client, sent=3, drafts=1)
    client.invoices.record_payment(ids[2], {"method": "CASH"})  # now MARKED_AS_PAID
    ledger = ReminderLedger(tmp_path)
    ledger.record(ids[1], TODAY, "r1")
    ledger.record(ids[1], TODAY, "r2")
    before = running.emulator.stats()
    plan = run(client, "remind", [*ids, ids[0], "INV2-NOPE-NOPE-NOPE-NOPE"], tmp_path)
    assert list(plan.columns) == ["invoice_id", "number", "status", "action", "plan", "reason",
                                  "request_id"]
    assert list(plan["plan"]) == ["run", "skip", "skip", "skip", "skip", "skip"]
    assert list(plan["reason"]) == [
        "", "reminder limit reached (2 sent today)",
        "wrong status MARKED_AS_PAID (remind needs SENT or UNPAID or PARTIALLY_PAID)",
        "wrong status DRAFT (remind needs SENT or UNPAID or PARTIALLY_PAID)",
        "listed twice", "no such invoice"]
    assert list(plan["number"][:4]) == ["B-000", "B-001", "B-002", "B-003"]
    assert plan["request_id"][0] == request_id(plan.attrs["job_id"], "remind", ids[0])
    assert running.emulator.stats() == before
    assert not Path(plan.attrs["journal"]).exists()


def test_a_dataframe_status_is_trusted_and_the_job_id_is_derived(
    client: Client, tmp_path: Path,
) -> None:
    ids = book(client, sent=2)
    table = fetch_invoices(client, progress=False)
    plan = run(client, "remind", table, tmp_path)
    assert set(plan["plan"]) == {"run"} and set(plan["invoice_id"]) == set(ids)
    again = run(client, "remind", table.iloc[::-1], tmp_path)
    assert again.attrs["job_id"] == plan.attrs["job_id"]  # the same job, in any order
    other = run(client, "remind", table, tmp_path, note="Second notice")
    assert other.attrs["job_id"] != plan.attrs["job_id"]
    tomorrow = bulk(client, "remind", table, journal_dir=tmp_path, progress=False,
                    today=TODAY + dt.timedelta(days=1))
    assert tomorrow.attrs["job_id"] != plan.attrs["job_id"]
    stale = table.assign(status="PAID")  # the table's status is used as given
    assert set(run(client, "remind", stale, tmp_path)["plan"]) == {"skip"}


def test_bad_requests_say_what_is_wrong(client: Client, tmp_path: Path) -> None:
    with pytest.raises(BulkError, match="action must be one of"):
        run(client, "delete", [], tmp_path)
    with pytest.raises(BulkError, match="not colour"):
        run(client, "remind", [], tmp_path, colour="red")
    with pytest.raises(BulkError, match="job_id must be"):
        run(client, "remind", [], tmp_path, job_id="../etc")
    with pytest.raises(BulkError, match="not one string"):
        run(client, "remind", "INV2-ABCD", tmp_path)
    with pytest.raises(BulkError, match="'id' column"):
        run(client, "remind", pd.DataFrame({"number": ["1"]}), tmp_path)
    ids = book(client, sent=1)
    run(client, "remind", ids, tmp_path, job_id="mine", confirm=True)
    with pytest.raises(BulkError, match="job mine was started as remind"):
        run(client, "remind", ids, tmp_path, job_id="mine", note="changed")


# --- running ------------------------------------------------------------------------------------


def test_run_then_rerun_applies_each_reminder_once(
    client: Client, running: RunningEmulator, tmp_path: Path,
) -> None:
    ids = book(client, sent=6, drafts=2)
    result = run(client, "remind", ids, tmp_path, confirm=True, subject="Overdue",
                 concurrency=3)
    assert list(result.columns) == ["invoice_id", "number", "action", "outcome", "detail",
                                    "error", "issues", "debug_id", "request_id", "timestamp"]
    assert result.attrs["counts"] == {"ok": 6, "skipped": 2}
    assert list(result["invoice_id"]) == ids  # one row per input row, in input order
    assert isinstance(result["timestamp"].dtype, pd.DatetimeTZDtype)
    assert str(result["timestamp"].dt.tz) == "UTC"
    assert reminders(running, ids) == [1] * 6 + [0, 0]
    # PayPal sends its own subject; the outbox keeps the one the call asked for
    assert {m["requested_subject"] for m in running.emulator.outbox(invoice_id=ids[0],
                                                                    kind="reminder")} == {
        "Overdue"}
    again = run(client, "remind", ids, tmp_path, confirm=True, subject="Overdue")
    assert list(again["detail"][:6]) == ["already done in this job"] * 6
    assert reminders(running, ids) == [1] * 6 + [0, 0]
    assert ReminderLedger(tmp_path).counts(TODAY) == dict.fromkeys(ids[:6], 1)
    # A deliberate second reminder is another job; the third one is refused by the plan.
    run(client, "remind", ids, tmp_path, confirm=True, job_id="second-notice")
    third = run(client, "remind", ids, tmp_path, confirm=True, job_id="third-notice")
    assert set(third["detail"][:6]) == {"reminder limit reached (2 sent today)"}
    assert reminders(running, ids) == [2] * 6 + [0, 0]


def test_api_refusals_are_rows_with_name_issues_and_debug_id(
    client: Client, running: RunningEmulator, tmp_path: Path,
) -> None:
    ids = book(client, sent=2)
    client.invoices.remind(ids[0])
    client.invoices.remind(ids[0])  # outside ppnb: the ledger does not know
    result = run(client, "remind", ids, tmp_path, confirm=True)
    failed = result.iloc[0]
    assert (failed["outcome"], failed["error"], failed["issues"]) == (
        "failed", "UNPROCESSABLE_ENTITY", ["MAX_REMINDERS_PER_DAY"])
    assert isinstance(failed["debug_id"], str) and len(failed["debug_id"]) >= 8
    assert result.iloc[1]["outcome"] == "ok"
    assert ReminderLedger(tmp_path).count(ids[0], TODAY) == 2  # remembered from the refusal
    assert reminders(running, ids) == [2, 1]


def test_send_and_cancel(client: Client, running: RunningEmulator, tmp_path: Path) -> None:
    ids = book(client, sent=1, drafts=2)
    future = client.invoices.create({
        "detail": {"currency_code": "USD", "invoice_date": "2025-03-01"},
        "items": [{"name": "x", "quantity": "1",
                   "unit_amount": {"currency_code": "USD", "value": "5.00"}}]})["id"]
    sent = run(client, "send", [*ids, future], tmp_path, confirm=True,
               additional_recipients="boss@example.com, cfo@example.com")
    assert list(sent["outcome"]) == ["skipped", "ok", "ok", "ok"]
    assert list(sent["detail"][1:]) == ["sent", "sent", "scheduled"]
    cc = {m["email"] for m in running.emulator.outbox(invoice_id=ids[1], kind="invoice")
          if m["role"] == "cc"}
    assert cc == {"boss@example.com", "cfo@example.com"}
    cancelled = run(client, "cancel", [*ids, future], tmp_path, confirm=True,
                    send_to_recipient=False)
    assert list(cancelled["outcome"]) == ["ok", "ok", "ok", "skipped"]
    assert "wrong status SCHEDULED" in cancelled["detail"].iloc[3]
    assert [client.invoices.get(i)["status"] for i in ids] == ["CANCELLED"] * 3
    assert running.emulator.outbox(invoice_id=ids[0], kind="cancellation") == []


def test_record_payments_from_a_bank_statement(
    client: Client, running: RunningEmulator, tmp_path: Path,
) -> None:
    book(client, sent=3, drafts=1, prefix="P")
    statement = pd.DataFrame({
        "number": ["P-000", "P-001", "P-001", "P-002", "P-003", "P-999"],
        "amount": ["100.00", 30.0, "25.50", "150.00", "1.00", "9.00"],
        "date": pd.to_datetime(["2025-01-10", "2025-01-11", "2025-01-12", "2025-01-12",
                                "2025-01-12", "2025-01-12"]),
        "method": ["BANK_TRANSFER", "CHECK", None, "CASH", "CASH", "CASH"],
    })
    plan = run(client, "record_payment", statement, tmp_path)
    assert list(plan["plan"]) == ["run", "run", "run", "skip", "skip", "skip"]
    assert list(plan["reason"][3:]) == [
        "amount 150.00 is more than the 100.00 USD due",
        "wrong status DRAFT (record_payment needs SENT or UNPAID or PARTIALLY_PAID)",
        "no invoice P-999"]
    result = run(client, "record_payment", statement, tmp_path, confirm=True, note="bank")
    assert result.attrs["counts"] == {"ok": 3, "skipped": 3}
    again = run(client, "record_payment", statement, tmp_path, confirm=True, note="bank")
    assert again.attrs["counts"] == {"skipped": 6}
    paid = {i["detail"]["invoice_number"]: i for i in
            client.invoices.search({}, page_size=10)["items"]}
    assert paid["P-000"]["status"] == "MARKED_AS_PAID"
    p1 = client.invoices.get(paid["P-001"]["id"])
    assert p1["status"] == "PARTIALLY_PAID" and p1["due_amount"]["value"] == "44.50"
    # the two rows of one invoice run concurrently, so PayPal may list them in either order
    assert sorted((t["amount"]["value"], t["method"], t["payment_date"], t.get("note")) for t in
                  p1["payments"]["transactions"]) == [
        ("25.50", "BANK_TRANSFER", "2025-01-12", "bank"),
        ("30.00", "CHECK", "2025-01-11", "bank")]
    assert running.emulator.stats(invoice_id=p1["id"])["invoice"]["payments"] == 2


def test_statement_amounts_must_be_exact(client: Client, tmp_path: Path) -> None:
    book(client, sent=1, prefix="X")
    for amount, message in ((0.1 + 0.2, "more than 2 decimal"), ("-5", "must be positive"),
                            ("ten", "not a decimal number")):
        with pytest.raises(BulkError, match=message):
            run(client, "record_payment", pd.DataFrame({"number": ["X-000"],
                                                        "amount": [amount]}), tmp_path)


# --- exactly once -------------------------------------------------------------------------------


def no_wait(seconds: float) -> None:
    """Retries without waiting: the faults, not the waits, are under test."""


def test_faults_then_reruns_give_exactly_one_reminder_each(
    running: RunningEmulator, creds: tuple[str, str], tmp_path: Path,
) -> None:
    with Client(running.base_url, *creds) as setup:
        ids = book(setup, sent=60)
        table = fetch_invoices(setup, progress=False)
    flaky = Client(running.base_url, *creds, retry=RetryPolicy(attempts=2, sleep=no_wait))
    flaky.get_token()
    running.emulator.faults.configure(rate=0.4, statuses=[500, 502, 503, 504],
                                      drop_connections=True, seed=11)
    runs = []
    for _ in range(12):  # each run retries what failed; bounded, never an endless loop
        result = run(flaky, "remind", table, tmp_path, confirm=True, job_id="flaky")
        runs.append(result.attrs["counts"])
        if not result.attrs["counts"].get("failed"):
            break
    running.emulator.faults.clear()
    assert runs[0].get("failed", 0) > 0, "the faults should have failed some calls"
    assert len(runs) > 1 and "failed" not in set(result["outcome"])
    assert reminders(running, ids) == [1] * 60
    assert effects(running, ids) == [1] * 60
    assert ReminderLedger(tmp_path).counts(TODAY) == dict.fromkeys(ids, 1)
    flaky.close()


class CrashAfter(httpx.BaseTransport):
    """Passes requests through, but "crashes" (raises) after the n-th remind was applied."""

    def __init__(self, n: int) -> None:
        self.inner = httpx.HTTPTransport()
        self.left = n

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        response = self.inner.handle_request(request)
        if request.url.path.endswith("/remind"):
            self.left -= 1
            if self.left == 0:
                response.read()
                raise SystemExit("crashed after the reminder was applied")
        return response


def test_a_crash_after_the_call_resumes_without_a_second_reminder(
    running: RunningEmulator, creds: tuple[str, str], tmp_path: Path,
) -> None:
    with Client(running.base_url, *creds) as setup:
        ids = book(setup, sent=5)
    crashing = Client(running.base_url, *creds, transport=CrashAfter(3))
    with pytest.raises(SystemExit):
        run(crashing, "remind", ids, tmp_path, confirm=True, job_id="crash", concurrency=1)
    crashing.close()
    # The worker thread may take the next invoice before the pool stops; a real crash would
    # not, but either way the third call was applied and never journalled as ended.
    assert reminders(running, ids)[:3] == [1, 1, 1]
    lines = [orjson.loads(x) for x in (tmp_path / "crash.jsonl").read_bytes().splitlines()]
    third = [r["type"] for r in lines if r.get("invoice_id") == ids[2]]
    assert lines[0]["type"] == "job" and third == ["start"]
    with Client(running.base_url, *creds) as fresh:
        plan = run(fresh, "remind", ids, tmp_path, job_id="crash")
        assert list(plan["plan"][:3]) == ["skip", "skip", "resume"]
        assert plan["reason"][2].startswith("started but not finished")
        result = run(fresh, "remind", ids, tmp_path, job_id="crash", confirm=True)
    assert list(result["outcome"][:3]) == ["skipped", "skipped", "ok"]
    assert set(result["outcome"]) <= {"ok", "skipped"}
    assert reminders(running, ids) == [1] * 5
    assert effects(running, ids) == [1] * 5


def test_a_torn_last_line_and_a_busy_job(client: Client, tmp_path: Path) -> None:
    ids = book(client, sent=2)
    run(client, "remind", ids[:1], tmp_path, job_id="torn", confirm=True)
    journal = tmp_path / "torn.jsonl"
    with open(journal, "ab") as out:
        out.write(b'{"type": "start", "key": "INV2-half')  # a crash in the middle of a write
    result = run(client, "remind", ids[:1], tmp_path, job_id="torn", confirm=True)
    assert list(result["detail"]) == ["already done in this job"]
    assert journal.read_bytes().endswith(b"\n")
    holder = Journal(journal, "torn", "remind", {}, write=True)
    try:
        with pytest.raises(JobBusy, match="torn is running in another process"):
            run(client, "remind", ids[:1], tmp_path, job_id="torn", confirm=True)
    finally:
        holder.close()


def test_journal_lines_are_on_disk_before_append_returns_and_fsyncs_are_shared(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from ppnb.actions import _journal

    path = tmp_path / "log.jsonl"
    synced: list[int] = []  # lines in the file at each fsync
    real_fsync = os.fsync

    def fsync(fd: int) -> None:
        synced.append(path.read_bytes().count(b"\n"))
        real_fsync(fd)

    monkeypatch.setattr(_journal.os, "fsync", fsync)
    late: list[int] = []
    with open(path, "ab") as handle:
        log = _journal._DurableLog(handle)

        def write(i: int) -> None:
            log.append({"i": i})
            position = path.read_bytes().splitlines().index(orjson.dumps({"i": i}))
            if max(synced) <= position:  # no fsync has seen this line yet
                late.append(i)

        with ThreadPoolExecutor(8) as pool:
            list(pool.map(write, range(400)))
    assert sorted(orjson.loads(line)["i"] for line in path.read_bytes().splitlines()) == \
        list(range(400))
    assert late == [] and max(synced) == 400
    assert len(synced) <= 400


def test_job_calls_and_reminder_history_read_the_journals_back(
    client: Client, tmp_path: Path,
) -> None:
    ids = book(client, sent=3)
    client.invoices.remind(ids[2])
    client.invoices.remind(ids[2])  # outside ppnb: PayPal refuses a third today
    run(client, "remind", ids, tmp_path, confirm=True, job_id="read-back")
    calls = {c.invoice_id: c for c in job_calls("read-back", tmp_path)}
    assert [calls[i].outcome for i in ids] == ["ok", "ok", "failed"]
    assert {calls[i].day for i in ids} == {TODAY}
    assert calls[ids[0]].request_id == request_id("read-back", "remind", ids[0])
    assert (calls[ids[0]].status, calls[ids[0]].issues) == (None, ())
    assert (calls[ids[2]].status, calls[ids[2]].issues) == (422, ("MAX_REMINDERS_PER_DAY",))
    assert job_calls("never-ran", tmp_path) == []
    with pytest.raises(BulkError, match="job_id"):
        job_calls("../escape", tmp_path)
    history = reminder_history(tmp_path)
    assert list(history.columns) == ["invoice_id", "day", "request_id"]
    assert sorted(history["invoice_id"]) == sorted(ids[:2])  # applied ones only, once each
    assert set(history["day"]) == {pd.Timestamp(TODAY)}
    run(client, "remind", ids[:1], tmp_path, confirm=True, job_id="read-back-2")
    assert len(reminder_history(tmp_path)) == 3


def test_progress_shows_only_for_runs_over_a_second(
        client: Client, running: RunningEmulator, tmp_path: Path,
        capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    from ppnb import _progress

    ids = book(client, sent=6)
    bulk(client, "remind", ids[:3], journal_dir=tmp_path, today=TODAY, confirm=True)
    assert capsys.readouterr().err == ""  # not interactive: no bar by default
    monkeypatch.setattr(_progress, "interactive", lambda: True)  # as in a notebook/terminal
    quick = bulk(client, "remind", ids[:3], journal_dir=tmp_path, today=TODAY, confirm=True,
                 job_id="again")
    assert quick.attrs["counts"] == {"ok": 3} and capsys.readouterr().err == ""
    running.emulator.faults.configure(latency_ms=(400, 450), seed=6)
    slow = bulk(client, "remind", ids[3:], journal_dir=tmp_path, today=TODAY, confirm=True,
                concurrency=1)
    err = capsys.readouterr().err
    assert slow.attrs["counts"] == {"ok": 3}
    assert "remind" in err and "3/3" in err and "ok=3" in err
