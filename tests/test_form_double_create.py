"""InvoiceForm cannot double-create (issue 16, item 5), on a real emulator over HTTP.

The client runs on its real loopback transport wrapped by :class:`Wire`, which records every
create request's ``PayPal-Request-Id`` and can act while a create is on the wire (a second
click during the first) or drop a create's answer after the emulator applied it (a lost
answer). The emulator's search and its applied-effect counts (``stats``: a replay is not an
effect) prove how many invoices exist. ipywidgets only logs an exception raised in a click
handler, so every test fails on such a log record (the ``swallowed`` fixture).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from types import FunctionType

import httpx
import pytest
import test_widgets
from helpers import new_merchant

from ppnb.client import Client, RetryPolicy, TransportError
from ppnb.client._transport import LoopbackTransport
from ppnb.emulator import RunningEmulator
from ppnb.widgets import InvoiceForm
from ppnb.widgets._items import ItemGrid

INVOICES = "/v2/invoicing/invoices"


class Wire(httpx.BaseTransport):
    """The client's real loopback transport, recording each create's request id."""

    def __init__(self) -> None:
        self.inner = LoopbackTransport()
        self.creates: list[str] = []
        #: called while a create is on the wire, before the emulator sees it
        self.during_create: Callable[[], None] | None = None
        #: how many create answers to drop after the emulator applied the create
        self.lose_answers = 0

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        if request.method != "POST" or request.url.path != INVOICES:
            return self.inner.handle_request(request)
        self.creates.append(request.headers["PayPal-Request-Id"])
        if self.during_create is not None:
            self.during_create()
        response = self.inner.handle_request(request)
        if self.lose_answers:
            self.lose_answers -= 1
            raise httpx.ReadError("the test dropped the answer", request=request)
        return response

    def close(self) -> None:
        self.inner.close()


swallowed = test_widgets.swallowed  # autouse: fails a test whose click handler raised


@pytest.fixture
def wire() -> Wire:
    return Wire()


@pytest.fixture
def client(frozen: RunningEmulator, wire: Wire) -> Iterator[Client]:
    """A fresh merchant's client on the wire; one try per request, so a lost answer reaches
    the form instead of being retried by the client."""
    with Client(frozen.base_url, *new_merchant(frozen.emulator), transport=wire,
                retry=RetryPolicy(attempts=1)) as made:
        yield made


@pytest.fixture
def form(client: Client) -> InvoiceForm:
    """A valid form for grace@example.com: 10 × 95.00 USD."""
    made = InvoiceForm(client, templates=False)
    made.set(email="grace@example.com", given_name="Grace", surname="Hopper")
    row = made.items[0]
    row.name.value, row.quantity.value, row.unit.value = "Compilers", "10", "95.00"
    assert made.validate() == {} and not made._submit.disabled
    return made


def invoices(client: Client, email: str = "grace@example.com") -> list[dict]:
    """The merchant's invoices billed to ``email`` (the emulator's search)."""
    return client.invoices.search({"recipient_email": email})["items"]


def created(running: RunningEmulator) -> int:
    """Invoices the emulator created (replays are not counted)."""
    return running.emulator.stats()["operations"].get("created", 0)


def test_a_second_click_reuses_the_request_id_and_makes_one_invoice(
    form: InvoiceForm, client: Client, wire: Wire, frozen: RunningEmulator,
) -> None:
    before = created(frozen)
    form._submit.click()
    first = form.result
    assert first is not None, form._status.value
    assert form._submit.disabled  # after success, until the form changes
    assert "Created" in form._status.value and first["id"] in form._status.value
    form._submit.click()  # a click that gets through anyway (a disabled button's handler runs)
    assert form.result is not None and form.result["id"] == first["id"]
    assert "Already created" in form._status.value and first["id"] in form._status.value
    assert form.submit() is not None  # and from code: the same again
    assert len(wire.creates) == 3 and len(set(wire.creates)) == 1
    assert created(frozen) == before + 1
    assert [i["id"] for i in invoices(client)] == [first["id"]]
    assert form._submit.disabled


def test_the_form_changing_arms_create_again_for_another_invoice(
    form: InvoiceForm, client: Client, wire: Wire,
) -> None:
    first = form.submit()
    assert first is not None
    form.set(memo="second order")
    assert not form._submit.disabled and form._status.value == ""
    second = form.submit()
    assert second is not None and second["id"] != first["id"]
    assert len(set(wire.creates)) == 2  # a new body, a new request id
    assert {i["id"] for i in invoices(client)} == {first["id"], second["id"]}
    # typing it back is a new intent, not the first request replayed
    form.set(memo="")
    assert form.submit() is not None
    assert len(set(wire.creates)) == 3 and len(invoices(client)) == 3


def test_create_is_disabled_in_flight_and_a_click_then_sends_nothing(
    form: InvoiceForm, client: Client, wire: Wire, frozen: RunningEmulator,
) -> None:
    seen: list[tuple[bool, object]] = []

    def click_again() -> None:
        wire.during_create = None
        seen.append((form._submit.disabled, form.submit()))
        form._submit.click()

    wire.during_create = click_again
    before = created(frozen)
    assert form.submit() is not None
    assert seen == [(True, None)]  # disabled on the wire, and the nested submit refused
    assert len(wire.creates) == 1 and created(frozen) == before + 1
    assert len(invoices(client)) == 1


def test_a_retry_after_a_lost_answer_replays_instead_of_creating_again(
    form: InvoiceForm, client: Client, wire: Wire, frozen: RunningEmulator,
) -> None:
    before = created(frozen)
    wire.lose_answers = 1
    assert form.submit() is None
    assert isinstance(form.error, TransportError)
    assert "no answer" in form._status.value
    assert created(frozen) == before + 1  # the emulator did create it
    assert not form._submit.disabled  # the person may try again ...
    invoice = form.submit()  # ... and gets that invoice, not a second one
    assert invoice is not None and created(frozen) == before + 1
    assert len(set(wire.creates)) == 1 and len(wire.creates) == 2
    assert [i["id"] for i in invoices(client)] == [invoice["id"]]


def test_a_refusal_gets_a_new_request_id_once_fixed(form: InvoiceForm, client: Client,
                                                    wire: Wire) -> None:
    form.set(number="TAKEN-1")
    assert form.submit() is not None
    form.set(memo="again")  # the same number: PayPal refuses it
    assert form.submit() is None
    assert form.error is not None and form.error.issues == ["DUPLICATE_INVOICE_NUMBER"]
    assert "DUPLICATE_INVOICE_NUMBER" in form._status.value
    form._next.click()  # "Next number" changes the body: the refusal is cleared
    assert form._status.value == ""
    assert form.submit() is not None
    assert len(set(wire.creates)) == 3 and len(invoices(client)) == 2


def test_messages_clear_when_the_input_changes(form: InvoiceForm) -> None:
    assert form.submit() is not None
    assert "Created" in form._status.value
    form.set(email="not an email")  # invalid now: the old "Created" must not stay
    assert form._status.value == ""
    assert "is not an email address" in form.fields["email"].error.value
    assert form._submit.disabled
    form._submit.click()
    assert "Fix the fields" in form._status.value
    form.items[0].unit.value = "96.00"
    assert form._status.value == ""
    # an edit that leaves the invoice the same (spaces are stripped) keeps the message
    form.set(email="grace@example.com")
    assert form.submit() is not None
    form.set(given_name="Grace ")
    assert "Already created" not in form._status.value and "Created" in form._status.value
    assert form._submit.disabled


@pytest.mark.parametrize("form_class", [InvoiceForm, ItemGrid])
def test_no_method_of_the_form_shadows_one_of_ipywidgets(form_class: type) -> None:
    # InvoiceForm._send once replaced Widget._send, which sends state to the browser: every
    # change in a live notebook then raised TypeError (no test without a kernel noticed).
    own = {name for name, member in vars(form_class).items()
           if isinstance(member, FunctionType | property) and not name.startswith("__")}
    assert "_create" in own or "set_rows" in own
    widget = form_class.__mro__[1]
    assert not own & set(dir(widget)), own & set(dir(widget))
