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
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from helpers import Api, new_merchant
from test_proof_auth_matrix import CASES, REFUSED, Book, changed, fingerprint
from test_v1_api import INV, SEARCH, TPL, v1_body

from ppnb.client import auth_assertion
from ppnb.emulator import Clock, start

MARKER = f"owner-only-{uuid.uuid4().hex}"
START = dt.datetime(2025, 1, 15, 9, 0, tzinfo=dt.UTC)
NEW = "(new)"
NAMES = {401: "AUTHENTICATION_FAILURE", 403: "PERMISSION_DENIED", 404: "INVALID_RESOURCE_ID"}
SHIP = {"first_name": "Sally", "phone": {"country_code": "1", "national_number": "5039871234"}}


@dataclass(frozen=True)
class Call:
    method: str
    operation: str
    path: str
    body: Any
    ok: int
    changes: str | None = None

    @property
    def needs_id(self) -> bool:
        return "{" in self.operation

    @property
    def table(self) -> str:
        return "templates" if self.operation.startswith("/templates") else "invoices"


@dataclass
class Matrix:
    calls: list[Call]
    owner_ids: set[str]
    cells: dict[tuple[str, str], tuple[int, Any, bytes]] = field(default_factory=dict)
    books: dict[str, list[Book]] = field(default_factory=dict)

    def expected(self, call: Call, case: str) -> int:
        if case in ("no token", "bad token", "expired token"):
            return 401
        if case == "partner without grant":
            return 403
        if case == "other merchant" and call.needs_id:
            return 404
        return call.ok


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
    def on(name: str, suffix: str = "") -> str:
        return f"{INV}/{ids[name]}{suffix}"

    pay = {"method": "CASH", "amount": {"currency": "USD", "value": "10.00"}}
    return [
        Call("POST", "/invoices", INV, v1_body(shipping_info=SHIP), 201, NEW),
        Call("GET", "/invoices", INV, None, 200),
        Call("POST", "/invoices/next-invoice-number", f"{INV}/next-invoice-number", None, 200),
        Call("GET", "/invoices/{id}", on("get"), None, 200),
        Call("PUT", "/invoices/{id}", on("put"), v1_body(number="OWNER-PUT", note="replaced"),
             200, ids["put"]),
        Call("DELETE", "/invoices/{id}", on("delete"), None, 204, ids["delete"]),
        Call("POST", "/invoices/{id}/send", on("send", "/send"), None, 202, ids["send"]),
        Call("POST", "/invoices/{id}/schedule", on("schedule", "/schedule"), None, 202,
             ids["schedule"]),
        Call("POST", "/invoices/{id}/remind", on("remind", "/remind"), {}, 202, ids["remind"]),
        Call("POST", "/invoices/{id}/cancel", on("cancel", "/cancel"), {}, 204, ids["cancel"]),
        Call("POST", "/invoices/{id}/record-payment", on("pay", "/record-payment"), pay, 200,
             ids["pay"]),
        Call("POST", "/invoices/{id}/record-refund", on("refund", "/record-refund"),
             {"amount": pay["amount"]}, 200, ids["refund"]),
        Call("DELETE", "/invoices/{id}/payment-records/{tx}",
             on("payment", f"/payment-records/{ids['payment_tx']}"), None, 204, ids["payment"]),
        Call("DELETE", "/invoices/{id}/refund-records/{tx}",
             on("refunded", f"/refund-records/{ids['refunded_tx']}"), None, 204,
             ids["refunded"]),
        Call("GET", "/invoices/{id}/qr-code", on("qr", "/qr-code?width=150&height=150"), None,
             200),
        Call("POST", "/search", SEARCH, {"page_size": 100}, 200),
        Call("GET", "/templates", TPL, None, 200),
        Call("POST", "/templates", TPL, {"name": "granted template"}, 200, NEW),
        Call("GET", "/templates/{id}", f"{TPL}/{ids['tget']}", None, 200),
        Call("PUT", "/templates/{id}", f"{TPL}/{ids['tput']}", {"name": "renamed"}, 200,
             ids["tput"]),
        Call("DELETE", "/templates/{id}", f"{TPL}/{ids['tdelete']}", None, 204, ids["tdelete"]),
    ]


def send(api: Api, call: Call, headers: dict[str, str], *, auth: bool
         ) -> tuple[int, Any, bytes]:
    sent = dict(headers)
    if call.method == "POST":
        sent["PayPal-Request-Id"] = str(uuid.uuid4())
    response = api.request(call.method, call.path, call.body, headers=sent, auth=auth)
    body = response.json() if response.content else None
    return response.status_code, body, response.content


@pytest.fixture(scope="module")
def matrix() -> Iterator[Matrix]:
    with start(clock=Clock(START, frozen=True)) as running:
        emulator = running.emulator
        apis = {who: Api(running.base_url, *new_merchant(emulator))
                for who in ("owner", "other", "partner", "granted")}
        try:
            owner, other = apis["owner"], apis["other"]
            emulator.grant(owner.client_id, apis["granted"].client_id)
            for who in ("other", "partner", "granted"):  # each has a book of its own
                assert apis[who].post(INV, v1_body(number=f"{who.upper()}-1")).status_code == 201
            ids = owner_book(owner)
            stale = owner.token
            emulator.clock.advance(seconds=emulator.service.token_ttl - 600)
            for api in apis.values():
                api.token = api.fetch_token()
            emulator.clock.advance(seconds=600)
            payer = {who: emulator.merchant(api.client_id).payer_id for who, api in apis.items()}
            run = Matrix(calls_for(ids), {v for k, v in ids.items()})

            def snapshot() -> None:
                for who in apis:
                    run.books.setdefault(who, []).append(fingerprint(running, payer[who]))

            def acting(partner: str) -> dict[str, str]:
                return {"PayPal-Auth-Assertion": auth_assertion(apis[partner].client_id,
                                                                payer_id=payer["owner"])}

            bad = owner.token[:-1] + ("A" if owner.token[-1] != "A" else "B")
            senders: dict[str, Callable[[Call], tuple[int, Any, bytes]]] = {
                "no token": lambda c: send(owner, c, {}, auth=False),
                "bad token": lambda c: send(owner, c, {"Authorization": f"Bearer {bad}"},
                                            auth=False),
                "expired token": lambda c: send(owner, c, {"Authorization": f"Bearer {stale}"},
                                                auth=False),
                "other merchant": lambda c: send(other, c, {}, auth=True),
                "partner without grant": lambda c: send(apis["partner"], c, acting("partner"),
                                                        auth=True),
                "partner with grant": lambda c: send(apis["granted"], c, acting("granted"),
                                                     auth=True),
            }
            snapshot()
            for case in REFUSED:
                for call in run.calls:
                    run.cells[call.operation + " " + call.method, case] = senders[case](call)
            snapshot()
            for call in run.calls:
                run.cells[call.operation + " " + call.method, "partner with grant"] = senders[
                    "partner with grant"](call)
            snapshot()
            yield run
        finally:
            for api in apis.values():
                api.http.close()
            emulator.close()


def test_every_v1_operation_is_in_the_matrix(matrix: Matrix) -> None:
    assert len({(c.method, c.operation) for c in matrix.calls}) == 21
    assert len(matrix.cells) == 21 * len(CASES)


def test_every_cell_has_the_expected_status_and_v1_error(matrix: Matrix) -> None:
    wrong = []
    for call in matrix.calls:
        for case in CASES:
            status, body, _ = matrix.cells[call.operation + " " + call.method, case]
            if status != matrix.expected(call, case):
                wrong.append(f"{call.method} {call.operation} / {case}: {status} {body}")
            elif status in NAMES and (body["name"], set(body) - {"details"}) != (
                    NAMES[status], {"name", "message", "information_link", "debug_id"}):
                wrong.append(f"{call.method} {call.operation} / {case}: {body}")
    assert not wrong, "\n".join(wrong)


def test_refused_calls_change_and_reveal_nothing_of_the_owner(matrix: Matrix) -> None:
    before, after = matrix.books["owner"][:2]
    assert before == after
    leaks = [f"{call.method} {call.operation} / {case}" for call in matrix.calls
             for case in REFUSED
             if MARKER.encode() in matrix.cells[call.operation + " " + call.method, case][2]
             or b"OWNER-" in matrix.cells[call.operation + " " + call.method, case][2]
             or (case == "other merchant" and not call.needs_id and any(
                 i.encode() in matrix.cells[call.operation + " " + call.method, case][2]
                 for i in matrix.owner_ids))]
    assert not leaks, leaks


def test_other_merchant_gained_only_what_it_created(matrix: Matrix) -> None:
    before, after, last = matrix.books["other"]
    made = {(body.get("id") or body.get("template_id"))
            for call in matrix.calls if call.changes == NEW
            for _, body, _ in [matrix.cells[call.operation + " " + call.method,
                                            "other merchant"]]}
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
    for operation in ("/invoices GET", "/search POST", "/invoices/{id} GET", "/templates GET",
                      "/templates/{id} GET"):
        assert MARKER.encode() in matrix.cells[operation, "partner with grant"][2], operation
    before, after = matrix.books["owner"][1:]
    for table in ("invoices", "templates"):
        expected = {c.changes for c in matrix.calls if c.changes and c.table == table} - {NEW}
        for call in matrix.calls:
            if call.changes == NEW and call.table == table:
                body = matrix.cells[call.operation + " " + call.method, "partner with grant"][1]
                expected.add(body.get("id") or body.get("template_id"))
        assert changed(before, after, table) == expected, table
