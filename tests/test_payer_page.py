"""The payer page at ``recipient_view_url``: read and paid in a real headless Chromium.

The browser is Debian's ``/usr/bin/chromium`` driven by playwright-python; ``make test``
installs both. Missing either is a failure, not a skip: the page is what customers use.
"""

from __future__ import annotations

import os
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import numpy as np
import pytest
import zxingcpp
from helpers import Api, invoice_body

from ppnb.emulator import RunningEmulator

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox", "--headless", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--no-first-run", "--disable-sync",
]
LOOPBACK = {"127.0.0.1", "localhost", "::1"}


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """Headless Chromium with its own empty HOME (no profile, no cache from the machine)."""
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.fail("playwright is not installed: run `make test` (or pip install -e '.[dev]')")
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing: run `make test` (apt-get install chromium)")
    home = tmp_path_factory.mktemp("chromium-home")
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True,
            env={**os.environ, "HOME": str(home)},
        )
        yield launched
        launched.close()


@pytest.fixture
def web(server: RunningEmulator) -> Iterator[httpx.Client]:
    """A plain HTTP client for the payer pages (no auth: the pages are public)."""
    with httpx.Client(base_url=server.base_url, timeout=30) as client:
        yield client


def page_path(invoice: dict[str, Any]) -> str:
    """The path of an invoice's payer page, from the URL the API hands out."""
    return urlsplit(invoice["detail"]["metadata"]["recipient_view_url"]).path


def sent_with(api: Api, **config: Any) -> dict[str, Any]:
    """A sent 100.00 USD invoice with ``configuration`` set to ``config``."""
    body = invoice_body()
    body["configuration"] = config
    created = api.post("/v2/invoicing/invoices", body)
    assert created.status_code == 201, created.text
    assert api.send(created.json()["id"]).status_code == 200
    return api.invoice(created.json()["id"])


def test_customer_pays_in_a_browser(server: RunningEmulator, api: Api, browser: Any) -> None:
    invoice = api.sent()
    url = invoice["detail"]["metadata"]["recipient_view_url"]
    assert url == f"{server.base_url}/invoice/p/{invoice['id']}"
    context = browser.new_context()
    page = context.new_page()
    outside: list[str] = []

    def loopback_only(route: Any) -> None:
        if urlsplit(route.request.url).hostname in LOOPBACK:
            route.continue_()
        else:
            outside.append(route.request.url)
            route.abort()

    page.route("**/*", loopback_only)
    try:
        assert page.goto(url).status == 200
        number = invoice["detail"]["invoice_number"]
        assert page.locator("h1").inner_text() == f"Invoice {number}"
        assert page.locator("#amount-due").inner_text() == "100.00 USD"
        assert page.locator("#status").inner_text() == "SENT"
        assert "Analytical Engines Ltd (Ada Lovelace)" in page.locator("table.facts").inner_text()
        item = page.locator("tr.item").first.inner_text()
        assert "Consulting" in item and "50.00 USD" in item
        assert page.locator("img.qr").evaluate("img => img.complete && img.naturalWidth") == 240

        page.locator("#pay").click()
        page.wait_for_url(f"{url}?paid=1")
        assert page.locator("#status").inner_text() == "PAID"
        assert page.locator("#amount-due").inner_text() == "0.00 USD"
        assert page.locator("#pay").count() == 0
        page.reload()  # a GET after POST/redirect/GET: must not pay again
        assert page.locator("#status").inner_text() == "PAID"
    finally:
        context.close()
    assert outside == []

    paid = api.invoice(invoice["id"])
    assert paid["status"] == "PAID"
    assert paid["due_amount"]["value"] == "0.00"
    [transaction] = paid["payments"]["transactions"]
    assert transaction["type"] == "PAYPAL" and transaction["method"] == "PAYPAL"
    assert transaction["payment_id"]
    assert transaction["amount"] == {"currency_code": "USD", "value": "100.00"}


def test_qr_code_encodes_the_page_url(server: RunningEmulator, api: Api,
                                      web: httpx.Client) -> None:
    invoice = api.sent()
    response = web.get(page_path(invoice) + "/qr.png")
    assert response.status_code == 200
    assert response.headers["content-type"] == "image/png"
    [symbol] = zxingcpp.read_barcodes(_png_pixels(response.content))
    assert symbol.text == f"{server.base_url}/invoice/p/{invoice['id']}"


def _png_pixels(png: bytes) -> np.ndarray:
    """Decode the emulator's 8-bit greyscale PNG (one IDAT chunk) into pixel rows."""
    width, height = int.from_bytes(png[16:20], "big"), int.from_bytes(png[20:24], "big")
    start = png.index(b"IDAT") + 4
    length = int.from_bytes(png[start - 8:start - 4], "big")
    raw = np.frombuffer(zlib.decompress(png[start:start + length]), dtype=np.uint8)
    return raw.reshape(height, width + 1)[:, 1:].copy()


def test_partial_payment_respects_the_minimum(api: Api, web: httpx.Client) -> None:
    invoice = sent_with(api, partial_payment={
        "allow_partial_payment": True,
        "minimum_amount_due": {"currency_code": "USD", "value": "20.00"}})
    path = page_path(invoice)
    html = web.get(path).text
    assert 'name="amount"' in html and "at least 20.00 USD" in html

    too_little = web.post(path + "/pay", data={"amount": "10.00"})
    assert too_little.status_code == 422
    assert "The minimum payment is 20.00 USD." in too_little.text
    assert "PARTIALLY" not in too_little.text and "payments" not in api.invoice(invoice["id"])

    paid = web.post(path + "/pay", data={"amount": "30"})
    assert paid.status_code == 303
    assert paid.headers["location"] == f"{path}?paid=1"
    after = api.invoice(invoice["id"])
    assert after["status"] == "PARTIALLY_PAID"
    assert after["due_amount"]["value"] == "70.00"
    assert after["payments"]["transactions"][0]["amount"]["value"] == "30.00"
    page = web.get(paid.headers["location"]).text
    assert "70.00 USD" in page and "payment was received" in page

    too_much = web.post(path + "/pay", data={"amount": "70.01"})
    assert too_much.status_code == 422
    assert "greater than the amount due" in too_much.text


def test_full_payment_only_without_partial_payments(api: Api, web: httpx.Client) -> None:
    invoice = api.sent()
    path = page_path(invoice)
    assert 'name="amount"' not in web.get(path).text
    refused = web.post(path + "/pay", data={"amount": "10.00"})
    assert refused.status_code == 422
    assert "must be paid in full (100.00 USD)" in refused.text
    bad = web.post(path + "/pay", data={"amount": "ten"})
    assert bad.status_code == 422 and "Enter an amount" in bad.text
    assert api.invoice(invoice["id"])["status"] == "SENT"


def test_merchant_text_is_escaped(api: Api, web: httpx.Client) -> None:
    attack = "<script>alert('x')</script>"
    invoice = api.sent(note=f"Thanks {attack}", items=[
        {"name": f"Widget {attack}", "quantity": "1", "description": '"><img src=x>',
         "unit_amount": {"currency_code": "USD", "value": "5.00"}}])
    html = web.get(page_path(invoice)).text
    assert "<script" not in html and "<img src=x" not in html
    assert "Thanks &lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt;" in html
    assert "Widget &lt;script&gt;" in html and "&quot;&gt;&lt;img src=x&gt;" in html


def test_unknown_invoice_is_a_404_page(web: httpx.Client) -> None:
    for response in (web.get("/invoice/p/INV2-NOPE-<b>"),
                     web.post("/invoice/p/INV2-NOPE-<b>/pay"),
                     web.get("/invoice/p/INV2-NOPE-<b>/qr.png")):
        assert response.status_code == 404
        assert response.headers["content-type"].startswith("text/html")
        assert "Invoice not found" in response.text
        assert "INV2-NOPE-&lt;b&gt;" in response.text


def test_no_pay_button_when_nothing_is_due(api: Api, web: httpx.Client) -> None:
    paid = api.sent()
    assert api.pay(paid["id"]).status_code == 200  # recorded by the merchant
    html = web.get(page_path(paid)).text
    assert 'id="pay"' not in html and "<strong>Paid</strong>" in html
    assert "MARKED_AS_PAID" in html
    again = web.post(page_path(paid) + "/pay")
    assert again.status_code == 422
    assert "does not support payment processing" in again.text

    cancelled = api.sent()
    assert api.post(f"/v2/invoicing/invoices/{cancelled['id']}/cancel", {}).status_code == 204
    html = web.get(page_path(cancelled)).text
    assert 'id="pay"' not in html and "<strong>Cancelled</strong>" in html

    draft = api.create()
    html = web.get(page_path(draft)).text
    assert 'id="pay"' not in html and "has not been sent yet" in html
