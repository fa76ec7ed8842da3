"""State survives restarts on the same SQLite file; searches use indexes, never full scans."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import orjson
import pytest
from helpers import Api, invoice_body

from ppnb.emulator import Emulator, start
from ppnb.emulator._service import Invoicing


def test_state_survives_restart(tmp_path: Path) -> None:
    db = tmp_path / "book.sqlite"
    creds = [("persist-merchant", "first-secret-0123456789")]
    with start(db, merchants=creds) as first:
        api = Api(first.base_url, *creds[0])
        created = api.create(number="P-1", memo="keep me")
        assert api.send(created["id"]).status_code == 200
        assert api.pay(created["id"], "40.00").status_code == 200
        before = api.invoice(created["id"])
        api.http.close()

    assert sqlite3.connect(db).execute("PRAGMA journal_mode").fetchone()[0] == "wal"

    # restarted with a new secret (secrets are stored only as hashes) on another port
    creds2 = [("persist-merchant", "second-secret-9876543210")]
    with start(db, merchants=creds2) as second:
        api = Api(second.base_url, *creds2[0])
        after = api.invoice(created["id"])
        assert after["status"] == "PARTIALLY_PAID"
        assert after["payments"] == before["payments"]
        assert after["detail"]["memo"] == "keep me"
        # links follow the server's current address, not the one it was stored under
        assert after["links"][0]["href"].startswith(second.base_url)
        assert api.post("/v2/invoicing/generate-next-invoice-number").json() == {
            "invoice_number": "P-2"}
        api.http.close()
        with pytest.raises(AssertionError):  # the old secret no longer works
            Api(second.base_url, *creds[0])


def test_secrets_are_not_stored_in_clear(tmp_path: Path) -> None:
    db = tmp_path / "secret.sqlite"
    Emulator(db, merchants=[("hash-me", "very-secret-value-42")]).close()
    assert b"very-secret-value-42" not in db.read_bytes()


FILTERS = {
    "recipient_email": "a@example.com",
    "recipient_first_name": "Ada",
    "recipient_last_name": "Lovelace",
    "recipient_business_name": "Engines",
    "invoice_number": "X-1",
    "status": ["SENT", "UNPAID"],
    "reference": "PO-1",
    "currency_code": "USD",
    "memo": "m",
    "total_amount_range": {"lower_amount": {"currency_code": "USD", "value": "1.00"},
                           "upper_amount": {"currency_code": "USD", "value": "9.00"}},
    "invoice_date_range": {"start": "2024-01-01", "end": "2024-02-01"},
    "due_date_range": {"start": "2024-01-01", "end": "2024-02-01"},
    "payment_date_range": {"start": "2024-01-01T00:00:00Z", "end": "2024-02-01T00:00:00Z"},
    "creation_date_range": {"start": "2024-01-01T00:00:00Z", "end": "2024-02-01T00:00:00Z"},
}


@pytest.mark.parametrize("name", sorted(FILTERS))
def test_every_search_filter_uses_an_index(name: str) -> None:
    emulator = Emulator()
    service: Invoicing = emulator.service
    merchant = emulator.merchant()
    for i in range(30):  # give the planner something to choose between
        service.create_invoice(merchant, invoice_body(number=f"N-{i}"))
    statements: list[str] = []
    conn = service.store._conn
    conn.set_trace_callback(statements.append)
    service.search(merchant, {name: FILTERS[name]}, total_required=True)
    conn.set_trace_callback(None)
    queries = [s for s in statements if s.lstrip().upper().startswith("SELECT")]
    assert queries
    for sql in queries:
        plan = " | ".join(row[3] for row in conn.execute("EXPLAIN QUERY PLAN " + sql))
        assert "SCAN invoices" not in plan, plan
        assert "USING" in plan, plan
    emulator.close()


def test_a_book_made_before_requested_subjects_opens_and_records_them(tmp_path: Path) -> None:
    db = tmp_path / "old.sqlite"
    with sqlite3.connect(db) as old:  # the outbox as earlier versions made it
        old.execute("CREATE TABLE outbox (seq INTEGER PRIMARY KEY AUTOINCREMENT, merchant TEXT "
                    "NOT NULL, invoice_id TEXT NOT NULL, kind TEXT NOT NULL, role TEXT NOT NULL, "
                    "email TEXT NOT NULL, subject TEXT, note TEXT, time TEXT NOT NULL)")
    emulator = Emulator(db, merchants=[("old-merchant", "old-secret-0123456789")])
    merchant = emulator.merchant()
    service = emulator.service
    invoice_id = orjson.loads(service.create_invoice(merchant, invoice_body()))["id"]
    service.send_invoice(merchant, invoice_id, {"subject": "Mine", "note": "Hello"})
    [mail] = emulator.outbox(invoice_id)
    assert (mail["subject"], mail["note"]) != ("Mine", "Hello")  # PayPal's own, no note
    assert (mail["requested_subject"], mail["requested_note"]) == ("Mine", "Hello")
    emulator.close()
