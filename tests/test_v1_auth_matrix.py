"""The auth and isolation matrix of ``tests/test_proof_auth_matrix.py``, for the v1 routes.

Every Invoicing v1 operation (the 21 of PayPal's ``invoicing_v1.json``) gets a minimal valid
request aimed at one merchant's book (the *owner*), sent by the same six callers: no token,
a bad token, an expired token (401 ``AUTHENTICATION_FAILURE``), another merchant (404
``INVALID_RESOURCE_ID`` for the owner's ids; its own book for operations without one), a
partner the owner never granted (403 ``PERMISSION_DENIED``), and a granted partner (2xx).
Error names are v1's. The owner's book (every row of the emulator's database that belongs
to it, found from the schema, the v1-only fields included) is fingerprinted around each
phase: refusals change and reveal nothing, the other merchant gains only what it created,
and the granted partner changes exactly the objects it names.
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from helpers import Api, new_merchant
from test_proof_auth_matrix import (
    CASES,
    NEW,
    REFUSED,
    Call,
    Matrix,
    Outcome,
    changed,
    run_matrix,
)
from test_v1_api import INV, SEARCH, TPL, v1_body

from ppnb.emulator import Clock, start

MARKER = f"owner-only-{uuid.uuid4().hex}"
START = dt.datetime(2025, 1, 15, 9, 0, tzinfo=dt.UTC)
NAMES = {401: "AUTHENTICATION_FAILURE", 403: "PERMISSION_DENIED", 404: "INVALID_RESOURCE_ID"}
SHIP = {"first_name": "Sally", "phone": {"country_code": "1", "national_number": "5039871234"}}


@dataclass(frozen=True)
class V1Call(Call):
    """A :class:`test_proof_auth_matrix.Call` on a v1 path (``template`` is the v1 path
    template)."""

    @property
    def operation(self) -> str:
        return f"{self.method} {self.template.removeprefix('/v1/invoicing')}"

    @property
    def table(self) -> str:
        return "templates" if self.template.startswith(TPL) else "invoices"


def made_id(outcome: Outcome) -> str | None:
    """The id of what a call created (v1 answers a template create 200, with ``template_id``)."""
    body = json.loads(outcome.content) if outcome.status < 300 and outcome.content else {}
    return body.get("id") or body.get("template_id")


def owner_book(api: Api) -> dict[str, str]:
    """The owner's objects, one (set) per operation that needs an id."""

    def made(**extra: Any) -> str:
        response = api.post(INV, v1_body(merchant_memo=MARKER, shipping_info=SHIP, **extra))
        assert response.status_code == 201, response.text
        return response.json()["id"]

    def sent(name: str) -> str:
        invoice_id = made(number=f"OWNER-{name.upper()}")
        assert api.post(f"{INV}/{invoice_id}/send").status_code == 202
        return invoice_id

    ids = {name: made(number=f"OWNER-{name.upper()}") for name in ("get", "put", "delete",
                                                                   "send")}
    ids["schedule"] = made(number="OWNER-SCHEDULE", invoice_date="2025-02-01 PST")
    for name in ("remind", "cancel", "pay", "qr", "payment", "refund", "refunded"):
        ids[name] = sent(name)
    for name, amount in (("payment", "30.00"), ("refund", None), ("refunded", None)):
        body = {"method": "CASH", "note": MARKER}
        if amount:
            body["amount"] = {"currency": "USD", "value": amount}
        assert api.post(f"{INV}/{ids[name]}/record-payment", body).status_code == 200
    assert api.post(f"{INV}/{ids['refunded']}/record-refund", {
        "amount": {"currency": "USD", "value": "25.00"}}).status_code == 200
    for name, key in (("payment", "payments"), ("refunded", "refunds")):
        ids[f"{name}_tx"] = api.get(f"{INV}/{ids[name]}").json()[key][0]["transaction_id"]
    for name in ("tget", "tput", "tdelete"):
        response = api.post(TPL, {"name": f"{MARKER} {name}", "template_data": {
            "merchant_info": {"email": f"{name}@example.com"}}})
        assert response.status_code == 200, response.text
        ids[name] = response.json()["template_id"]
    return ids


def calls_for(ids: dict[str, str]) -> list[Call]:
    """A minimal valid request per v1 operation, aimed at the owner's objects."""
    one, tx = INV + "/{invoice_id}", "/{transaction_id}"

    def on(name: str, suffix: str = "") -> str:
        return f"{INV}/{ids[name]}{suffix}"

    pay = {"method": "CASH", "amount": {"currency": "USD", "value": "10.00"}}
    return [
        V1Call("POST", INV, INV, v1_body(shipping_info=SHIP), 201, NEW),
        V1Call("GET", INV, INV, None, 200),
        V1Call("POST", INV + "/next-invoice-number", f"{INV}/next-invoice-number", None, 200),
        V1Call("GET", one, on("get"), None, 200),
        V1Call("PUT", one, on("put"), v1_body(number="OWNER-PUT", note="replaced"), 200,
               ids["put"]),
        V1Call("DELETE", one, on("delete"), None, 204, ids["delete"]),
        V1Call("POST", one + "/send", on("send", "/send"), None, 202, ids["send"]),
        V1Call("POST", one + "/schedule", on("schedule", "/schedule"), None, 202,
               ids["schedule"]),
        V1Call("POST", one + "/remind", on("remind", "/remind"), {}, 202, ids["remind"]),
        V1Call("POST", one + "/cancel", on("cancel", "/cancel"), {}, 204, ids["cancel"]),
        V1Call("POST", one + "/record-payment", on("pay", "/record-payment"), pay, 200,
               ids["pay"]),
        V1Call("POST", one + "/record-refund", on("refund", "/record-refund"),
               {"amount": pay["amount"]}, 200, ids["refund"]),
        V1Call("DELETE", one + "/payment-records" + tx,
               on("payment", f"/payment-records/{ids['payment_tx']}"), None, 204,
               ids["payment"]),
        V1Call("DELETE", one + "/refund-records" + tx,
               on("refunded", f"/refund-records/{ids['refunded_tx']}"), None, 204,
               ids["refunded"]),
        V1Call("GET", one + "/qr-code", on("qr", "/qr-code?width=150&height=150"), None, 200),
        V1Call("POST", SEARCH, SEARCH, {"page_size": 100}, 200),
        V1Call("GET", TPL, TPL, None, 200),
        V1Call("POST", TPL, TPL, {"name": "granted template"}, 200, NEW),
        V1Call("GET", TPL + "/{template_id}", f"{TPL}/{ids['tget']}", None, 200),
        V1Call("PUT", TPL + "/{template_id}", f"{TPL}/{ids['tput']}", {"name": "renamed"}, 200,
               ids["tput"]),
        V1Call("DELETE", TPL + "/{template_id}", f"{TPL}/{ids['tdelete']}", None, 204,
               ids["tdelete"]),
    ]


@pytest.fixture(scope="module")
def matrix() -> Iterator[Matrix]:
    with start(clock=Clock(START, frozen=True)) as running:
        emulator = running.emulator
        apis = {who: Api(running.base_url, *new_merchant(emulator))
                for who in ("owner", "other", "partner", "granted")}
        try:
            owner = apis["owner"]
            emulator.grant(owner.client_id, apis["granted"].client_id)
            for who in ("other", "partner", "granted"):  # each has a book of its own
                assert apis[who].post(INV, v1_body(number=f"{who.upper()}-1")).status_code == 201
            yield run_matrix(running, apis, owner_book(owner), calls_for)
        finally:
            for api in apis.values():
                api.http.close()
            emulator.close()


def test_every_v1_operation_is_in_the_matrix(matrix: Matrix) -> None:
    assert len({c.operation for c in matrix.calls}) == 21
    assert len(matrix.cells) == 21 * len(CASES)


def test_every_cell_has_the_expected_status_and_v1_error(matrix: Matrix) -> None:
    wrong = []
    for call in matrix.calls:
        for case in CASES:
            got = matrix.cells[call.operation, case]
            if got.status != matrix.expected(call, case):
                wrong.append(f"{call.operation} / {case}: {got.status} {got.content!r}")
            elif got.status in NAMES and (got.name, set(json.loads(got.content))) != (
                    NAMES[got.status], {"name", "message", "information_link", "debug_id"}):
                wrong.append(f"{call.operation} / {case}: {got.content!r}")
    print(f"\nv1 auth matrix: {len(matrix.calls)} operations x {len(CASES)} cases\n"
          f"{matrix.table()}")
    assert not wrong, "\n".join(wrong)


def test_refused_calls_change_and_reveal_nothing_of_the_owner(matrix: Matrix) -> None:
    before, after = matrix.books["owner"][:2]
    assert before == after
    leaks = []
    for call in matrix.calls:
        for case in REFUSED:
            content = matrix.cells[call.operation, case].content
            if MARKER.encode() in content or b"OWNER-" in content or (
                    case == "other merchant" and "{" not in call.template
                    and any(i.encode() in content for i in matrix.owner_ids)):
                leaks.append(f"{call.operation} / {case}")
    assert not leaks, leaks


def test_other_merchant_gained_only_what_it_created(matrix: Matrix) -> None:
    before, after, last = matrix.books["other"]
    made = {made_id(matrix.cells[c.operation, "other merchant"]) for c in matrix.calls
            if c.changes == NEW}
    assert None not in made and len(made) == 2
    assert changed(before, after, "invoices") | changed(before, after, "templates") == made
    assert changed(before, after, "v1_fields") <= made  # the shipping phone of its invoice
    touched = {table for (table, key), row in after.items() if before.get((table, key)) != row}
    assert touched <= {"invoices", "templates", "idempotency", "effects", "merchants",
                       "v1_fields"}, touched
    assert last == after


def test_partners_own_books_are_untouched(matrix: Matrix) -> None:
    for partner in ("partner", "granted"):
        first, *rest = matrix.books[partner]
        assert all(book == first for book in rest), partner


def test_granted_partner_reads_and_changes_exactly_its_targets(matrix: Matrix) -> None:
    for operation in ("GET /invoices", "POST /search", "GET /invoices/{invoice_id}",
                      "GET /templates", "GET /templates/{template_id}"):
        assert MARKER.encode() in matrix.cells[operation, "partner with grant"].content, operation
    before, after = matrix.books["owner"][1:]
    for table in ("invoices", "templates"):
        expected = {c.changes for c in matrix.calls if c.changes and c.table == table} - {NEW}
        expected |= {made_id(matrix.cells[c.operation, "partner with grant"])
                     for c in matrix.calls if c.changes == NEW and c.table == table}
        assert None not in expected
        assert changed(before, after, table) == expected, table
