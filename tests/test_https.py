"""The code path used against PayPal is the one tested: the emulator over HTTPS.

Every other test reaches the emulator over plain HTTP on loopback, where the client uses its
lean ``LoopbackTransport``. Sandbox and live use httpx's own transport over TLS. Here the
emulator serves HTTPS on loopback with a certificate from a throwaway CA (``trustme``), and
the client is made exactly as ``connect(env="live")`` makes it, with only the base URL and the
CA changed (``SSL_CERT_FILE``, which httpx reads as PayPal users' systems would): the client
lifecycle, the pager, a bulk action and one notebook run through that configuration.
"""

from __future__ import annotations

import datetime as dt
import ssl
from collections.abc import Iterator
from pathlib import Path

import certifi
import httpx
import orjson
import pytest
import trustme
from helpers import invoice_body, new_merchant, run_notebook, shows_money

from ppnb.actions import bulk
from ppnb.analysis import aging
from ppnb.client import Client, NotFound
from ppnb.client._transport import LoopbackTransport
from ppnb.connection import connect
from ppnb.emulator import Clock, RunningEmulator, start
from ppnb.pager import fetch_invoices, fetch_tables
from ppnb.seed import seed_demo

NOW = dt.datetime(2025, 6, 16, 9, 0, tzinfo=dt.UTC)


@pytest.fixture(scope="module")
def tls(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[RunningEmulator, Path]]:
    """An emulator serving HTTPS on loopback, and the throwaway CA's certificate file."""
    folder = tmp_path_factory.mktemp("tls")
    authority = trustme.CA()
    served = authority.issue_cert("127.0.0.1", "localhost")
    chain = folder / "server.pem"
    served.private_key_and_cert_chain_pem.write_to_path(str(chain))
    ca = folder / "ca.pem"
    authority.cert_pem.write_to_path(str(ca))
    running = start(clock=Clock(NOW, frozen=True), ssl_certfile=chain)
    try:
        yield running, ca
    finally:
        running.stop()
        running.emulator.close()


@pytest.fixture
def live(tls: tuple[RunningEmulator, Path], monkeypatch: pytest.MonkeyPatch) -> Iterator[Client]:
    """A fresh merchant's client, made by ``connect(env="live")`` with only the base URL and
    the CA changed."""
    running, ca = tls
    monkeypatch.setenv("SSL_CERT_FILE", str(ca))
    client_id, secret = new_merchant(running.emulator)
    client = connect(env="live", client_id=client_id, client_secret=secret,
                     base_url=running.base_url)
    try:
        yield client
    finally:
        client.close()


def test_it_is_tls_and_httpx_own_transport(tls: tuple[RunningEmulator, Path],
                                           live: Client) -> None:
    running, _ = tls
    assert running.base_url.startswith("https://127.0.0.1:")
    transport = live._http._transport
    assert isinstance(transport, httpx.HTTPTransport)
    assert not isinstance(transport, LoopbackTransport)
    public_roots = ssl.create_default_context(cafile=certifi.where())  # httpx's own default
    with pytest.raises(httpx.ConnectError, match="CERTIFICATE_VERIFY_FAILED"):  # the CA matters
        httpx.get(running.base_url + "/_emulator/clock", verify=public_roots)
    with pytest.raises(httpx.HTTPError):  # and nothing answers plain HTTP there
        httpx.get(running.base_url.replace("https", "http") + "/_emulator/clock", timeout=5)


def test_the_client_lifecycle_over_tls(live: Client) -> None:
    token = live.get_token()
    assert token["token_type"] == "Bearer"
    assert live.today() == NOW.date()  # the emulator's clock, over TLS
    invoices = live.invoices
    created = invoices.create(invoice_body(number="TLS-1"))
    invoice_id = created["id"]
    assert created["status"] == "DRAFT" and invoices.get(invoice_id) == created
    updated = invoices.update(invoice_id, invoice_body(number="TLS-1", memo="over TLS"))
    assert updated["detail"]["memo"] == "over TLS"
    assert invoices.send(invoice_id)["rel"] == "payer-view"
    assert invoices.remind(invoice_id) is None
    payment = invoices.record_payment(invoice_id, {"method": "CASH", "amount": {
        "currency_code": "USD", "value": "40.00"}})
    refund = invoices.record_refund(invoice_id, {"method": "CASH", "amount": {
        "currency_code": "USD", "value": "10.00"}})
    after = invoices.get(invoice_id)
    assert after["status"] == "PARTIALLY_PAID" and after["due_amount"]["value"] == "60.00"
    invoices.delete_refund(invoice_id, refund["refund_id"])
    invoices.delete_payment(invoice_id, payment["payment_id"])
    assert invoices.generate_qr_code(invoice_id).startswith(b"\x89PNG")
    found = invoices.search({"invoice_number": "TLS-1"}, total_required=True)
    assert found["total_items"] == 1 and found["items"][0]["id"] == invoice_id
    invoices.cancel(invoice_id)
    assert invoices.get(invoice_id)["status"] == "CANCELLED"
    draft = invoices.create(invoice_body(number="TLS-2"))["id"]
    invoices.delete(draft)
    with pytest.raises(NotFound):
        invoices.get(draft)
    template = live.templates.create({"name": "TLS template"})
    assert live.templates.update(template["id"], {"name": "TLS template 2"})["name"] == (
        "TLS template 2")
    live.templates.delete(template["id"])
    assert live.stats["requests"] >= 20 and not live.stats["retries"]


def test_the_pager_and_a_bulk_action_over_tls(tls: tuple[RunningEmulator, Path], live: Client,
                                              tmp_path: Path) -> None:
    running, _ = tls
    service, merchant = running.emulator.service, running.emulator.merchant(live.client_id)
    ids = []
    for i in range(230):  # three pages of 100
        doc = orjson.loads(service.create_invoice(merchant, invoice_body(number=f"P-{i:04d}")))
        service.send_invoice(merchant, doc["id"], {})
        ids.append(doc["id"])
    tables = fetch_tables(live, progress=False)
    assert sorted(tables.invoices["id"]) == sorted(ids)
    assert len(tables.items) == 230 and set(tables.invoices["status"]) == {"SENT"}
    assert set(fetch_invoices(live, progress=False)["id"]) == set(ids)
    plan = bulk(live, "remind", ids[:50], journal_dir=tmp_path, progress=False)
    assert set(plan["plan"]) == {"run"}
    done = bulk(live, "remind", ids[:50], confirm=True, journal_dir=tmp_path, progress=False)
    assert set(done["outcome"]) == {"ok"}
    reminded = {e["invoice_id"] for e in running.emulator.outbox(kind="reminder")}
    assert set(ids[:50]) <= reminded and not reminded & set(ids[50:])


def test_a_notebook_over_tls(tls: tuple[RunningEmulator, Path], tmp_path: Path) -> None:
    """02_aging, executed headless, in a kernel configured only as a PayPal live user would
    be: PPNB_ENV=live, the credentials, and (the only changes) the base URL and the CA."""
    running, ca = tls
    client_id, secret = new_merchant(running.emulator)
    with Client(running.base_url, client_id, secret,
                transport=httpx.HTTPTransport(verify=ssl.create_default_context(
                    cafile=str(ca)))) as client:
        seed_demo(client, invoices=120, customers=15, months=12, today=NOW.date())
        expected = aging(fetch_tables(client, progress=False), NOW.date()).totals
    text = run_notebook("02_aging.ipynb", tmp_path, {
        "PPNB_ENV": "live", "PAYPAL_CLIENT_ID": client_id, "PAYPAL_CLIENT_SECRET": secret,
        "PPNB_BASE_URL": running.base_url, "SSL_CERT_FILE": str(ca)})
    assert repr(NOW.date()) in text  # as_of = client.today(): the emulator's clock, over TLS
    for row in expected.to_dict("records"):  # the kernel aged the same book as we did
        assert shows_money(text, row["total"], row["currency"])
    assert secret not in text
