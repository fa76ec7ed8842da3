"""ppnb.dunning: policies from TOML, the dry run, and 90 days of daily runs on the emulator's
clock, proven from the outbox: one reminder per level, never two a day, nothing after payment
or cancellation, nothing twice when a run is SIGKILLed and run again."""

from __future__ import annotations

import datetime as dt
import itertools
import os
import random
import signal
import subprocess
import sys
import time
import tomllib
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from ppnb.actions import bulk, job_calls
from ppnb.client import Client
from ppnb.dunning import EXAMPLE, DunningError, Policy, plan, run, state
from ppnb.emulator import Clock, Control, RunningEmulator, start
from ppnb.pager import fetch_tables
from ppnb.seed import seed_demo

START = dt.datetime(2025, 3, 1, 9, 0, tzinfo=dt.UTC)
POLICY = """\
name = "proof"
min_days_between = 1
[min_amount]
JPY = "100"

[[levels]]
name = "l1"
days = 3
note = "level l1"

[[levels]]
name = "l2"
days = 10
note = "level l2"

[[levels]]
name = "l3"
days = 20
note = "level l3"

[[levels]]
name = "final"
days = 30
reminders = 2
every = 7
note = "level final"
send_to_invoicer = true
"""


# --- policies -----------------------------------------------------------------------------


def test_example_policy_reads_and_names_its_jobs(tmp_path: Path) -> None:
    path = tmp_path / "standard.toml"
    path.write_text(EXAMPLE)
    policy = Policy.from_toml(path)
    assert [(lv.name, lv.days) for lv in policy.levels] == [
        ("reminder1", 3), ("reminder2", 10), ("reminder3", 20), ("final", 30)]
    assert policy.min_amount == {"USD": 2000, "EUR": 2000, "GBP": 2000, "JPY": 3000}
    assert policy.exclude_disputed and policy.min_days_between == 3
    final = policy.levels[-1]
    assert final.notification() == {"note": "Final notice before we follow up in person.",
                                     "send_to_invoicer": True}
    assert policy.job_id(final, 1, 2) == "dunning-standard-final-1-2"


@pytest.mark.parametrize(("text", "message"), [
    ("name = 'x'\nlevels = []", "levels: give at least one level"),
    ("name = 'x'\n[[levels]]\nname = 'a'\ndays = 5\n[[levels]]\nname = 'b'\ndays = 3",
     r"days past due must increase, got \[5, 3\]"),
    ("name = 'x'\ncolour = 1\n[[levels]]\nname = 'a'\ndays = 1", "colour: unknown key"),
    ("name = 'my-policy'\n[[levels]]\nname = 'a'\ndays = 1", "name: 'my-policy' must be"),
    ("name = 'x'\n[[levels]]\nname = 'a'", r"levels\[0\]: days is required"),
    ("name = 'x'\n[[levels]]\nname = 'a'\ndays = 1\nreminders = 9",
     r"levels\[0\].reminders: 9 is not a whole number from 1 to 5"),
    ("name = 'x'\n[min_amount]\nJPY = '1.5'\n[[levels]]\nname = 'a'\ndays = 1",
     "min_amount.JPY: .*"),
    ("name = 'x'\n[min_amount]\nUSD = 1.5\n[[levels]]\nname = 'a'\ndays = 1",
     "min_amount.USD: give the amount as text"),
    ("name = 'x'\n[[levels]]\nname = 'a'\ndays = 1\nadditional_recipients = ['nope']",
     r"levels\[0\].additional_recipients: give a list of email addresses"),
    ("name = 'x'\n[[levels]]\nname = 'a'\ndays = 1\nsend_to_invoicer = 'yes'",
     r"levels\[0\].send_to_invoicer: give true or false"),
    ("name = [", "is not valid TOML"),
])
def test_bad_policies_are_refused_with_the_key(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "bad.toml"
    path.write_text(text)
    with pytest.raises(DunningError, match=message) as caught:
        Policy.from_toml(path)
    assert str(path) in str(caught.value)


def test_missing_policy_file(tmp_path: Path) -> None:
    with pytest.raises(DunningError, match=r"cannot read policy .*nowhere\.toml"):
        Policy.from_toml(tmp_path / "nowhere.toml")


# --- a demo book on a frozen clock --------------------------------------------------------


@pytest.fixture(scope="module")
def book() -> Iterator[tuple[RunningEmulator, Client]]:
    """A small demo book (tens of invoices), the emulator's clock frozen on its day."""
    with start(clock=Clock(START, frozen=True)) as running:
        cred = running.credentials
        with Client(running.base_url, cred.client_id, cred.client_secret) as client:
            seed_demo(client, invoices=60, customers=10, months=3)
            yield running, client


def sim(running: RunningEmulator, call: Callable[[Control], Any]) -> Any:
    """One call of the emulator's documented simulation API (:class:`Control`)."""
    with running.control(timeout=30) as control:
        return call(control)


def cli(running: RunningEmulator, policy: Path, journal: Path, home: Path,
        *extra: str) -> list[str]:
    return [sys.executable, "-m", "ppnb.cli", "dunning", "run", "--policy", str(policy),
            "--url", running.base_url, "--journal-dir", str(journal), *extra]


def env(running: RunningEmulator, home: Path) -> dict[str, str]:
    cred = running.credentials
    keep = {k: v for k, v in os.environ.items() if not k.startswith(("PPNB_", "PAYPAL_"))}
    return {**keep, "HOME": str(home), "PAYPAL_CLIENT_ID": cred.client_id,
            "PAYPAL_CLIENT_SECRET": cred.client_secret}


def ends(journal: Path) -> int:
    """Finished calls in every journal of the folder (complete lines only)."""
    return sum(line.count(b'"type":"end"') for path in journal.glob("*.jsonl")
               for line in path.read_bytes().split(b"\n")[:-1])


def killed_then_rerun(running: RunningEmulator, argv: list[str], environ: dict[str, str],
                      journal: Path, left: Any) -> None:
    """Run the CLI in a child, SIGKILL it once a reminder has finished, then run it again;
    ``left()`` is the day's plan after the kill."""
    before = ends(journal)
    running.emulator.faults.configure(rate=0, latency_ms=[150, 250], seed=5)
    child = subprocess.Popen(argv, env=environ, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 120
    while ends(journal) == before and child.poll() is None and time.monotonic() < deadline:
        time.sleep(0.005)  # polling the journals, bounded by the deadline
    assert child.poll() is None, child.stderr.read().decode() if child.stderr else ""
    child.send_signal(signal.SIGKILL)
    child.wait(timeout=30)
    running.emulator.faults.clear()
    assert (left()["plan"] != "").any()  # the kill left work for the second run
    again = subprocess.run(argv, env=environ, capture_output=True, timeout=120, check=False)
    assert again.returncode == 0, again.stderr.decode()


def test_ninety_days_of_daily_runs(book: tuple[RunningEmulator, Client],
                                   tmp_path: Path) -> None:
    running, client = book
    policy_file = tmp_path / "proof.toml"
    policy_file.write_text(POLICY)
    policy = Policy.from_toml(policy_file)
    journal, home = tmp_path / "jobs", tmp_path
    environ = env(running, home)
    rng = random.Random(19)
    stopped: dict[str, dt.date] = {}  # invoice → the day it was paid or cancelled
    limited, refused, refused_job, kills = None, None, "", 0
    limited_on = refused_on = None
    for day_number in range(1, 91):
        sim(running, lambda control: control.advance(1))
        today = client.today()
        assert today == START.date() + dt.timedelta(days=day_number)
        tables = fetch_tables(client, progress=False)
        open_ = tables.invoices[tables.invoices["status"].isin(
            ["SENT", "UNPAID", "PARTIALLY_PAID"])]
        for invoice in open_.itertuples():  # the customers pay, the merchant cancels
            if invoice.id in (limited, refused):
                continue  # followed to the end below
            if rng.random() < 0.02:
                sim(running, lambda control, paid=invoice.id: control.pay(paid))
                stopped[invoice.id] = today
            elif invoice.status != "PARTIALLY_PAID" and rng.random() < 0.005:
                client.invoices.cancel(invoice.id, {"send_to_recipient": False})
                stopped[invoice.id] = today
        if day_number % 15 == 0:  # new business keeps coming
            new = client.invoices.create({
                "detail": {"currency_code": "USD", "payment_term": {"term_type": "NET_10"}},
                "primary_recipients": [{"billing_info": {
                    "email_address": f"new{day_number}@example.com"}}],
                "items": [{"name": "Work", "quantity": "1",
                           "unit_amount": {"currency_code": "USD", "value": "250.00"}}]})
            client.invoices.send(new["id"])
        tables = fetch_tables(client, progress=False)

        planned = plan(client, tables, policy, journal_dir=journal)
        due = planned[planned["action"] == "remind"]
        if (day_number == 1 and len(due) >= 3) or (day_number > 20 and kills == 1
                                                    and len(due) >= 2):
            # a run killed half-way, then run again
            killed_then_rerun(running, cli(running, policy_file, journal, home), environ,
                              journal, lambda tables=tables: plan(client, tables, policy,
                                                                  journal_dir=journal))
            kills += 1
            continue
        if day_number >= 5 and limited is None and len(due):
            # a collector already sent two reminders today
            limited, limited_on = due["invoice_id"].iat[0], today
            for job in ("manual-a", "manual-b"):
                bulk(client, "remind", [limited], confirm=True, job_id=job,
                     journal_dir=journal, progress=False, note="manual")
            result = run(client, tables, policy, journal_dir=journal)
            row = result.set_index("invoice_id").loc[limited]
            assert row["outcome"] == "skipped" and "reminder limit reached" in row["detail"]
            continue
        others = due[due["invoice_id"] != limited]
        if day_number >= 7 and refused is None and limited_on and len(others):
            # another tool sent two reminders today: PayPal refuses a third
            due = others
            refused, refused_on = due["invoice_id"].iat[0], today
            refused_job = policy.job_id(next(lv for lv in policy.levels
                                             if lv.name == due["level"].iat[0]),
                                        int(due["reminder"].iat[0]), 2)
            for _ in range(2):
                client.invoices.remind(refused, {"note": "elsewhere"})
            failed = subprocess.run(cli(running, policy_file, journal, home), env=environ,
                                    capture_output=True, timeout=120, check=False)
            assert failed.returncode == 1
            assert "1 reminders failed" in failed.stderr.decode()
            assert "MAX_REMINDERS_PER_DAY" in failed.stdout.decode()
            continue
        result = run(client, tables, policy, journal_dir=journal)
        assert "failed" not in result.attrs["counts"], result[result["outcome"] == "failed"]
        if day_number == 15:  # the same policy again on the same day sends nothing
            again = run(client, tables, policy, journal_dir=journal)
            assert "ok" not in again.attrs["counts"]
            assert set(again["action"]) <= {"wait", "done", "excluded"}

    assert limited is not None and refused is not None and kills == 2
    # the reminder PayPal refused went out on a later day, in a new job (a request id
    # replays its answer, so the refused one could never succeed)
    [retried] = job_calls(refused_job, journal)
    assert retried.invoice_id == refused and retried.outcome == "ok"
    assert refused_on is not None and retried.day > refused_on
    check_outbox(running, client, policy, journal, stopped, limited, limited_on)


def check_outbox(running: RunningEmulator, client: Client, policy: Policy, journal: Path,
                 stopped: dict[str, dt.date], limited: str, limited_on: dt.date) -> None:
    """Everything the issue asks, from the emails the emulator recorded."""
    level_of = {f"level {lv.name}": i for i, lv in enumerate(policy.levels)}
    emails: list[Any] = sim(running, lambda control: control.outbox(kind="reminder"))
    for mail in emails:  # PayPal sends its own text; the emulator keeps the note asked for
        mail["asked"] = mail.get("requested_note", mail["note"])
    to_customer = [m for m in emails if m["role"] == "recipient"]
    ours = [m for m in to_customer if m["asked"] in level_of]
    assert len(ours) > 40  # the policy really ran
    tables = fetch_tables(client, progress=False)
    due = dict(zip(tables.invoices["id"], tables.invoices["due_date"].dt.date, strict=True))

    per_level: Counter[tuple[str, int]] = Counter()
    per_day: Counter[tuple[str, str]] = Counter()
    ours_per_day: Counter[tuple[str, str]] = Counter()
    sequence: dict[str, list[tuple[str, int]]] = defaultdict(list)
    for mail in to_customer:
        per_day[(mail["invoice_id"], mail["time"][:10])] += 1
    for mail in ours:
        invoice, level, day = mail["invoice_id"], level_of[mail["asked"]], mail["time"][:10]
        per_level[(invoice, level)] += 1
        ours_per_day[(invoice, day)] += 1
        sequence[invoice].append((day, level))
        # on time: the level is due that many days past the due date
        assert (dt.date.fromisoformat(day) - due[invoice]).days >= policy.levels[level].days
        # nothing after payment or cancellation
        assert invoice not in stopped or day < stopped[invoice].isoformat(), (invoice, day)

    # at most one reminder per level (the final level sends its two), never two a day
    for (invoice, level), count in per_level.items():
        assert count <= policy.levels[level].reminders, (invoice, policy.levels[level].name)
    assert max(per_day.values()) <= 2
    assert max(ours_per_day.values()) == 1
    # escalation one level at a time, in order
    for steps in sequence.values():
        levels = [level for _, level in sorted(steps)]
        assert levels[0] == 0 and all(b - a in (0, 1) for a, b in itertools.pairwise(levels))
    assert {level for steps in sequence.values() for _, level in steps} == set(range(4))
    assert any(count == 2 for (_, level), count in per_level.items() if level == 3)
    # the final notice escalates: a copy to the merchant each time
    finals = sum(1 for m in ours if m["asked"] == "level final")
    assert sum(1 for m in emails if m["role"] == "invoicer"
               and m["asked"] == "level final") == finals
    # every reminder applied once: the emulator's own count equals the emails
    for invoice in sequence:
        applied = sim(running, lambda c, one=invoice: c.stats(one))["invoice"]
        assert applied.get("reminded", 0) == sum(
            n for (i, _), n in per_day.items() if i == invoice)
    # the collector's two manual reminders held the policy back that day, not for ever
    assert per_day[(limited, limited_on.isoformat())] == 2
    assert sequence[limited]
    # the level each invoice reached, read back from the journals alone
    reached = state(policy, journal).set_index("invoice_id")
    for invoice, steps in sequence.items():
        assert reached.loc[invoice, "level"] == policy.levels[max(s[1] for s in steps)].name
        assert reached.loc[invoice, "sent"] == len(steps)


# --- the dry run and its refusals --------------------------------------------------------


def test_dry_run_shows_levels_exclusions_and_sends_nothing(tmp_path: Path) -> None:
    clock = Clock(START, frozen=True)
    with start(clock=clock) as running:
        cred = running.credentials
        with Client(running.base_url, cred.client_id, cred.client_secret) as client:
            ids = {}
            for name, days_ago, memo, email, value in (
                    ("due", 40, None, "a@example.com", "100.00"),
                    ("disputed", 40, "Disputed: wrong hours", "b@example.com", "100.00"),
                    ("small", 40, None, "c@example.com", "5.00"),
                    ("listed", 40, None, "VIP@example.com", "100.00"),
                    ("early", 1, None, "d@example.com", "100.00")):
                detail: dict[str, Any] = {
                    "currency_code": "USD", "invoice_number": name,
                    "invoice_date": (START.date() - dt.timedelta(days=days_ago)).isoformat(),
                    "payment_term": {"term_type": "NET_10"}}
                if memo:
                    detail["memo"] = memo
                made = client.invoices.create({
                    "detail": detail,
                    "primary_recipients": [{"billing_info": {"email_address": email}}],
                    "items": [{"name": "Work", "quantity": "1",
                               "unit_amount": {"currency_code": "USD", "value": value}}]})
                client.invoices.send(made["id"])
                ids[name] = made["id"]
            policy = Policy.from_dict({**tomllib.loads(POLICY), "exclude_customers": [
                "vip@example.com"], "min_amount": {"USD": "10.00"}})
            tables = fetch_tables(client, progress=False)
            planned = plan(client, tables, policy, journal_dir=tmp_path).set_index("number")
            assert planned.loc["due", "action"] == "remind"
            assert planned.loc["due", "level"] == "l1" and planned.loc["due", "plan"] == "run"
            assert planned.loc["due", "reason"] == "30 days past due: l1 is due from 3"
            assert planned.loc["disputed", "action"] == "excluded"
            assert planned.loc["disputed", "reason"] == "memo says disputed"
            assert planned.loc["small", "reason"] == "outstanding is under the policy's minimum"
            assert planned.loc["listed", "reason"] == "customer VIP@example.com is excluded"
            assert planned.loc["early", "action"] == "wait"
            assert planned.loc["early", "reason"] == "l1 from 3 days past due (now -9)"
            assert running.emulator.outbox(kind="reminder") == []
            assert not list(tmp_path.glob("*.jsonl"))  # a dry run journals nothing

            # a confirmed run acts today only
            with pytest.raises(DunningError, match="as_of 2025-02-27 is not today"):
                run(client, tables, policy, "2025-02-27", journal_dir=tmp_path)
            sent = run(client, tables, policy, journal_dir=tmp_path)
            assert sent.attrs["counts"] == {"ok": 1, "none": 4}
            assert [m["invoice_id"] for m in running.emulator.outbox(kind="reminder")] == [
                ids["due"]]
            # a level's notification cannot change once it has sent reminders: twelve days
            # on, the 'early' invoice is due l1, whose journal holds the old note
            clock.advance(days=12)
            changed = Policy.from_dict(tomllib.loads(POLICY.replace('note = "level l1"',
                                                                    'note = "edited"')))
            with pytest.raises(DunningError, match="level l1: job dunning-proof-l1-1-1 was "
                               "started as remind with options"):
                plan(client, fetch_tables(client, progress=False), changed,
                     journal_dir=tmp_path)


# --- the command line --------------------------------------------------------------------


def test_cli_dry_run_and_refusals(book: tuple[RunningEmulator, Client], tmp_path: Path,
                                  monkeypatch: pytest.MonkeyPatch,
                                  capsys: pytest.CaptureFixture[str]) -> None:
    from ppnb.cli import main

    running, client = book
    cred = running.credentials
    monkeypatch.setenv("PAYPAL_CLIENT_ID", cred.client_id)
    monkeypatch.setenv("PAYPAL_CLIENT_SECRET", cred.client_secret)
    policy = tmp_path / "proof.toml"
    policy.write_text(POLICY.replace('name = "proof"', 'name = "cli"'))
    base = ["dunning", "run", "--policy", str(policy), "--url", running.base_url,
            "--journal-dir", str(tmp_path / "jobs")]
    sent_before = len(running.emulator.outbox(kind="reminder"))

    assert main([*base, "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert f"dunning cli {client.today()} (dry run):" in out
    assert " run " in out  # bulk's plan for each reminder it would send
    assert len(running.emulator.outbox(kind="reminder")) == sent_before

    assert main([*base, "--as-of", "2020-01-01"]) == 1
    assert "a confirmed run sends today's reminders: as_of 2020-01-01" in \
        capsys.readouterr().err

    (tmp_path / "bad.toml").write_text("name = 'cli'\n[[levels]]\nname = 'a'\ndays = 'x'")
    assert main(["dunning", "run", "--policy", str(tmp_path / "bad.toml")]) == 1
    err = capsys.readouterr().err
    assert err.startswith("ppnb dunning: error: policy ") and "levels[0].days" in err
    assert len(running.emulator.outbox(kind="reminder")) == sent_before
