"""Auth matrix (issue 8, suite 4): every Invoicing v2 operation under six kinds of caller.

The operations are read from PayPal's spec (``../shared/paypal/invoicing_v2.json``); each gets
a minimal valid request aimed at real objects in one merchant's book (the *owner*), and is
sent by:

==========================  ==================================================  ==========
case                        who calls                                           expected
==========================  ==================================================  ==========
no token                    no ``Authorization`` header                         401
bad token                   the owner's live token with one character changed   401
expired token               a real owner token, past its ``expires_in``         401
other merchant              another merchant's valid token, the owner's ids     404 [#]_
partner without grant       a partner's token + ``PayPal-Auth-Assertion``       403
                            naming the owner, who never granted it
partner with grant          the same, from a partner the owner granted          2xx
==========================  ==================================================  ==========

.. [#] Operations without an id (create, list, search, next number, templates) work on the
   other merchant's own book: 2xx, and nothing of the owner's in the answer.

Besides the statuses, the book of every merchant involved is fingerprinted from the
emulator's database (every row that belongs to it) before and after: refused calls change
nothing of the owner's and read nothing of it; the other merchant gains only what it created
itself; the partners' own books never change; the granted partner changes exactly the owner
objects it was aimed at.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
from conformance import load_spec
from helpers import Api, invoice_body, new_merchant

from ppnb.client import auth_assertion
from ppnb.emulator import Clock, RunningEmulator, start

V2 = "/v2/invoicing"
INVOICE = V2 + "/invoices/{invoice_id}"
TEMPLATE = V2 + "/templates/{template_id}"
CASES = ("no token", "bad token", "expired token", "other merchant", "partner without grant",
         "partner with grant")
REFUSED = CASES[:-1]
#: Column heads of the printed matrix.
HEADS = dict(zip(CASES, ("no token", "bad token", "expired", "other", "no grant", "grant"),
                 strict=True))
#: A string that only the owner's objects carry (memo, notes, template names).
MARKER = f"owner-only-{uuid.uuid4().hex}"
OWNER_EMAIL = f"{MARKER}@example.com"
START = dt.datetime(2025, 1, 15, 9, 0, tzinfo=dt.UTC)
NEW = "(new)"
ERROR_NAMES = {401: "AUTHENTICATION_FAILURE", 403: "NOT_AUTHORIZED", 404: "RESOURCE_NOT_FOUND"}

#: A row of the fingerprint: table name, row key, digest of the whole row.
Book = dict[tuple[str, str], str]


@dataclass(frozen=True)
class Call:
    """One operation aimed at the owner's book: its request and what the grant case gives."""

    method: str
    template: str
    path: str
    body: Any
    #: The status a granted partner gets (and the other merchant, for operations without ids).
    ok: int
    #: The id of the owner's object the call changes when granted; :data:`NEW` when it
    #: creates one; None when it changes nothing.
    changes: str | None = None

    @property
    def operation(self) -> str:
        """``METHOD /path-template`` below ``/v2/invoicing``."""
        return f"{self.method} {self.template.removeprefix(V2)}"

    @property
    def table(self) -> str:
        """The table of the objects the operation works on."""
        return "templates" if self.template.startswith(V2 + "/templates") else "invoices"


@dataclass
class Outcome:
    """What one cell of the matrix gave."""

    status: int
    name: str | None
    content: bytes
    created: str | None = None


@dataclass
class Matrix:
    """The whole run: the calls, each cell's outcome and the books around each phase."""

    calls: list[Call]
    owner_ids: set[str]
    cells: dict[tuple[str, str], Outcome] = field(default_factory=dict)
    books: dict[str, list[Book]] = field(default_factory=dict)

    def expected(self, call: Call, case: str) -> int:
        """The status ``call`` must get in ``case`` (see the module docstring)."""
        if case in ("no token", "bad token", "expired token"):
            return 401
        if case == "partner without grant":
            return 403
        if case == "other merchant" and "{" in call.template:
            return 404
        return call.ok

    def table(self) -> str:
        """The matrix as text: one line per operation, one column per case."""
        width = max(len(c.operation) for c in self.calls)
        head = f"{'operation':<{width}}  " + "  ".join(f"{HEADS[c]:>9}" for c in CASES)
        lines = [head]
        for call in self.calls:
            cells = []
            for case in CASES:
                got = self.cells[call.operation, case]
                want = self.expected(call, case)
                text = str(got.status) if got.status == want else f"{got.status}!={want}"
                cells.append(f"{text:>9}")
            lines.append(f"{call.operation:<{width}}  " + "  ".join(cells))
        return "\n".join(lines)


def spec_operations() -> set[tuple[str, str]]:
    """``(METHOD, path template)`` of every operation in PayPal's Invoicing v2 spec."""
    return {(method.upper(), path) for path, item in load_spec()["paths"].items()
            for method in item if method in ("get", "put", "post", "delete", "patch")}


def fingerprint(running: RunningEmulator, payer_id: str) -> Book:
    """Every database row that belongs to the merchant ``payer_id``, digested.

    Tables are found from the schema (any table with a ``merchant`` or ``payer_id`` column),
    so a table added later is covered too. Rows are keyed by their ``id`` if they have one,
    else by their primary key, else by their digest.
    """
    store = running.emulator.store
    book: Book = {}
    tables = [name for (name,) in store.all(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'")]
    for table in tables:
        info = store.all(f"PRAGMA table_info({table})")
        columns = [column[1] for column in info]
        owner = next((c for c in ("merchant", "payer_id") if c in columns), None)
        if owner is None:
            continue
        keys = ([columns.index("id")] if "id" in columns
                else [i for i, column in enumerate(info) if column[5]])
        for row in store.all(f"SELECT * FROM {table} WHERE {owner} = ?", (payer_id,)):
            digest = hashlib.sha256(repr(row).encode()).hexdigest()
            book[table, "/".join(str(row[i]) for i in keys) if keys else digest] = digest
    return book


def changed(before: Book, after: Book, table: str) -> set[str]:
    """Keys of ``table`` rows added, removed or altered between two fingerprints."""
    keys = {k for t, k in before.keys() | after.keys() if t == table}
    return {k for k in keys if before.get((table, k)) != after.get((table, k))}


def owner_book(api: Api) -> dict[str, str]:
    """The owner's objects, one (set) per operation that needs an id."""

    def created(**overrides: Any) -> str:
        return api.create(memo=MARKER, email=OWNER_EMAIL, **overrides)["id"]

    def sent(number: str) -> str:
        invoice_id = created(number=number)
        assert api.send(invoice_id).status_code == 200
        return invoice_id

    ids = {name: created(number=f"OWNER-{name.upper()}")
           for name in ("get", "put", "delete", "send")}
    for name in ("remind", "cancel", "pay", "qr", "payment", "refund", "refunded"):
        ids[name] = sent(f"OWNER-{name.upper()}")
    response = api.pay(ids["payment"], "30.00", note=MARKER)
    assert response.status_code == 200, response.text
    ids["payment_id"] = response.json()["payment_id"]
    for name in ("refund", "refunded"):
        assert api.pay(ids[name]).status_code == 200
    response = api.post(f"{V2}/invoices/{ids['refunded']}/refunds",
                        {"method": "CASH", "amount": {"currency_code": "USD", "value": "25.00"}})
    assert response.status_code == 200, response.text
    ids["refund_id"] = response.json()["refund_id"]
    for name in ("tget", "tput", "tdelete"):
        response = api.post(f"{V2}/templates", {"name": f"{MARKER} {name}"})
        assert response.status_code == 201, response.text
        ids[name] = response.json()["id"]
    return ids


def calls_for(ids: dict[str, str]) -> list[Call]:
    """A minimal valid request per spec operation, aimed at the owner's objects."""
    invoices, templates = V2 + "/invoices", V2 + "/templates"
    next_number, search = V2 + "/generate-next-invoice-number", V2 + "/search-invoices"

    def on(name: str, suffix: str = "") -> str:
        return f"{invoices}/{ids[name]}{suffix}"

    payment = {"method": "CASH", "amount": {"currency_code": "USD", "value": "10.00"}}
    return [
        Call("POST", invoices, invoices, invoice_body(), 201, NEW),
        Call("GET", invoices, invoices, None, 200),
        Call("GET", INVOICE, on("get"), None, 200),
        Call("PUT", INVOICE, on("put"), invoice_body(number="OWNER-PUT", memo="replaced"), 200,
             ids["put"]),
        Call("DELETE", INVOICE, on("delete"), None, 204, ids["delete"]),
        Call("POST", INVOICE + "/send", on("send", "/send"), {}, 200, ids["send"]),
        Call("POST", INVOICE + "/remind", on("remind", "/remind"), {}, 204, ids["remind"]),
        Call("POST", INVOICE + "/cancel", on("cancel", "/cancel"), {}, 204, ids["cancel"]),
        Call("POST", INVOICE + "/payments", on("pay", "/payments"), payment, 200, ids["pay"]),
        Call("DELETE", INVOICE + "/payments/{transaction_id}",
             on("payment", f"/payments/{ids['payment_id']}"), None, 204, ids["payment"]),
        Call("POST", INVOICE + "/refunds", on("refund", "/refunds"), payment, 200,
             ids["refund"]),
        Call("DELETE", INVOICE + "/refunds/{transaction_id}",
             on("refunded", f"/refunds/{ids['refund_id']}"), None, 204, ids["refunded"]),
        Call("POST", INVOICE + "/generate-qr-code", on("qr", "/generate-qr-code"),
             {"width": 150, "height": 150}, 200),
        Call("POST", next_number, next_number, None, 200),
        Call("POST", search, search, {}, 200),
        Call("GET", templates, templates, None, 200),
        Call("POST", templates, templates, {"name": "granted template"}, 201, NEW),
        Call("GET", TEMPLATE, f"{templates}/{ids['tget']}", None, 200),
        Call("PUT", TEMPLATE, f"{templates}/{ids['tput']}", {"name": "renamed"}, 200,
             ids["tput"]),
        Call("DELETE", TEMPLATE, f"{templates}/{ids['tdelete']}", None, 204, ids["tdelete"]),
    ]


def send(api: Api, call: Call, headers: dict[str, str], *, auth: bool) -> Outcome:
    """Send ``call`` as ``api`` (a POST with a fresh PayPal-Request-Id); the response is
    checked against the spec by :class:`Api`."""
    sent = dict(headers)
    if call.method == "POST":
        sent["PayPal-Request-Id"] = str(uuid.uuid4())
    response: httpx.Response = api.request(call.method, call.path, call.body, headers=sent,
                                           auth=auth)
    name = None
    created = None
    if response.headers.get("content-type", "").startswith("application/json"):
        body = response.json()
        name = body.get("name") if response.status_code >= 400 else None
        created = body.get("id") if response.status_code == 201 else None
    return Outcome(response.status_code, name, response.content, created)


def run_matrix(running: Any, apis: dict[str, Api], ids: dict[str, str],
               calls_for: Callable[[dict[str, str]], list[Call]]) -> Matrix:
    """Run every cell once on ``running``: the refusals for every call, then the granted
    partner, fingerprinting each merchant's book around each phase.

    ``apis`` holds ``owner``, ``other``, ``partner`` and ``granted`` (granted by the owner);
    ``ids`` is the owner's book (:func:`owner_book`), ``calls_for`` makes the calls on it.
    Shared by the v2 matrix here and the v1 matrix (``test_v1_auth_matrix``).
    """
    emulator = running.emulator
    owner, other = apis["owner"], apis["other"]
    stale = owner.token  # a real token, used above; it expires below
    ttl = emulator.service.token_ttl
    emulator.clock.advance(seconds=ttl - 600)
    for api in apis.values():
        api.token = api.fetch_token()
    emulator.clock.advance(seconds=600)  # the stale token's last second is over
    payer = {who: emulator.merchant(api.client_id).payer_id for who, api in apis.items()}
    run = Matrix(calls_for(ids), set(ids.values()))

    def snapshot() -> None:
        for who in apis:
            run.books.setdefault(who, []).append(fingerprint(running, payer[who]))

    def acting(partner: str) -> dict[str, str]:
        return {"PayPal-Auth-Assertion": auth_assertion(apis[partner].client_id,
                                                        payer_id=payer["owner"])}

    bad = owner.token[:-1] + ("A" if owner.token[-1] != "A" else "B")
    senders: dict[str, Callable[[Call], Outcome]] = {
        "no token": lambda c: send(owner, c, {}, auth=False),
        "bad token": lambda c: send(owner, c, {"Authorization": f"Bearer {bad}"}, auth=False),
        "expired token": lambda c: send(owner, c, {"Authorization": f"Bearer {stale}"},
                                        auth=False),
        "other merchant": lambda c: send(other, c, {}, auth=True),
        "partner without grant": lambda c: send(apis["partner"], c, acting("partner"),
                                                auth=True),
        "partner with grant": lambda c: send(apis["granted"], c, acting("granted"), auth=True),
    }
    snapshot()
    for case in REFUSED:
        for call in run.calls:
            run.cells[call.operation, case] = senders[case](call)
    snapshot()
    for call in run.calls:
        run.cells[call.operation, "partner with grant"] = senders["partner with grant"](call)
    snapshot()
    return run


@pytest.fixture(scope="module")
def matrix() -> Iterator[Matrix]:
    """Run all cells once: the five refusals for every operation, then the granted partner."""
    clock = Clock(START, frozen=True)
    with start(clock=clock) as running:
        emulator = running.emulator
        apis: dict[str, Api] = {who: Api(running.base_url, *new_merchant(emulator))
                                for who in ("owner", "other", "partner", "granted")}
        try:
            owner = apis["owner"]
            emulator.grant(owner.client_id, apis["granted"].client_id)
            for who in ("other", "partner", "granted"):  # each has a book of its own
                apis[who].create(number=f"{who.upper()}-1")
                assert apis[who].post(f"{V2}/templates", {"name": f"{who} own"}).status_code \
                    == 201
            yield run_matrix(running, apis, owner_book(owner), calls_for)
        finally:
            for api in apis.values():
                api.http.close()
            emulator.close()


def test_every_spec_operation_is_in_the_matrix(matrix: Matrix) -> None:
    covered = {(c.method, c.template) for c in matrix.calls}
    assert covered == spec_operations()
    assert len(matrix.cells) == len(covered) * len(CASES) == 20 * 6


def test_every_cell_has_the_expected_status(matrix: Matrix) -> None:
    wrong = []
    for call in matrix.calls:
        for case in CASES:
            got = matrix.cells[call.operation, case]
            if got.status != matrix.expected(call, case) or (
                    got.status in ERROR_NAMES and got.name != ERROR_NAMES[got.status]):
                wrong.append(f"{call.operation} / {case}: {got.status} {got.name or ''}")
    print(f"\nauth matrix: {len(matrix.calls)} operations x {len(CASES)} cases = "
          f"{len(matrix.cells)} calls\n{matrix.table()}")
    assert not wrong, "\n".join(wrong) + "\n\n" + matrix.table()


def test_refused_calls_leave_the_owners_book_unchanged(matrix: Matrix) -> None:
    before, after = matrix.books["owner"][:2]
    assert before == after, sorted(key for key in before.keys() | after.keys()
                                   if before.get(key) != after.get(key))


def test_refused_calls_read_nothing_of_the_owners_book(matrix: Matrix) -> None:
    """No refused answer carries the owner's data; the other merchant's listings hold none of
    the owner's ids (a 404 may echo the id the caller itself sent, nothing more)."""
    leaks = []
    for call in matrix.calls:
        for case in REFUSED:
            content = matrix.cells[call.operation, case].content
            if MARKER.encode() in content or b"OWNER-" in content:
                leaks.append(f"{call.operation} / {case}")
            if case == "other merchant" and "{" not in call.template and any(
                    i.encode() in content for i in matrix.owner_ids):
                leaks.append(f"{call.operation} / {case}: lists an owner id")
    assert not leaks, leaks


def test_other_merchant_gained_only_what_it_created(matrix: Matrix) -> None:
    before, after, last = matrix.books["other"]
    created = {matrix.cells[c.operation, "other merchant"].created for c in matrix.calls
               if c.changes == NEW}
    assert None not in created and len(created) == 2
    # Its invoices and templates: exactly the two it created itself, nothing altered.
    assert changed(before, after, "invoices") | changed(before, after, "templates") == created
    assert before.keys() <= after.keys(), "the other merchant lost rows"
    touched = {table for (table, key), row in after.items() if before.get((table, key)) != row}
    # its own records of those writes: answers kept for PayPal-Request-Id, effect counts and
    # its last invoice number
    assert touched <= {"invoices", "templates", "idempotency", "effects", "merchants"}, touched
    assert last == after  # and the granted partner's calls did not touch it


def test_partners_own_books_are_untouched(matrix: Matrix) -> None:
    for partner in ("partner", "granted"):
        first, *rest = matrix.books[partner]
        assert all(book == first for book in rest), partner


def test_granted_partner_reads_the_owners_book(matrix: Matrix) -> None:
    def content(operation: str) -> bytes:
        return matrix.cells[operation, "partner with grant"].content

    for operation in ("GET /invoices", "POST /search-invoices", "GET /invoices/{invoice_id}",
                      "GET /templates", "GET /templates/{template_id}"):
        assert MARKER.encode() in content(operation), operation


def test_granted_partner_changed_exactly_its_targets(matrix: Matrix) -> None:
    """The granted calls land in the owner's book, on exactly the objects they name."""
    before, after = matrix.books["owner"][1:]
    for table in ("invoices", "templates"):
        expected = {c.changes for c in matrix.calls if c.changes and c.table == table}
        expected.discard(NEW)
        expected |= {matrix.cells[c.operation, "partner with grant"].created
                     for c in matrix.calls if c.changes == NEW and c.table == table}
        assert None not in expected
        assert changed(before, after, table) == expected, table
