"""Issue 15, defect 1: forged webhooks, reproduced against the real emulator over loopback.

The attack: on a shared emulator, one merchant puts its own certificate in a draft invoice's
note, so the public payer page serves that PEM on the emulator's origin (an allowed certificate
origin); it then signs an ``INVOICING.INVOICE.PAID`` event for another merchant's unpaid
invoice with its own key and posts it to that merchant's receiver, naming the payer page as
``PAYPAL-CERT-URL``. The receiver must refuse it (one log line, no traceback) and
``ppnb.sync(events=...)`` must leave the invoice unpaid.

Also here: the certificate URL's other tricks (``..``, queries, userinfo), what a certificate
download may be (a bare PEM chain of bounded size, a currently valid leaf), and a transmission
id reused for another body (a CRC32 collision needs no key at all).
"""

from __future__ import annotations

import base64
import contextlib
import datetime as dt
import logging
import uuid
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.x509.oid import NameOID
from helpers import Api, Served, reserve, wait_for
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import Route

import ppnb
from ppnb import webhooks as W
from ppnb._signing import CERT_PATH, signed_message
from ppnb.client import Client
from ppnb.emulator import RunningEmulator

PEM_TYPE = "application/x-pem-file"


@dataclass
class Victim:
    """A merchant with a webhook to its own receiver, an unpaid $5,000 invoice and a book."""

    api: Api
    client: Client
    webhook_id: str
    receiver_url: str
    log: Path
    book: Path
    invoice: dict[str, Any]


@contextlib.contextmanager
def kept_records() -> Iterator[list[logging.LogRecord]]:
    """Every record the receiver's logger (``ppnb.webhooks``, at any level) and uvicorn's
    error logger write meanwhile. uvicorn's logger does not propagate to the root (``caplog``
    never sees it) and each new server's logging config drops its handlers, so the records
    are kept by a filter, which the config leaves in place."""
    kept: list[logging.LogRecord] = []

    class Keep(logging.Filter):
        def filter(self, record: logging.LogRecord) -> bool:
            kept.append(record)
            return True

    keep = Keep()
    ours, theirs = logging.getLogger("ppnb.webhooks"), logging.getLogger("uvicorn.error")
    level = ours.level
    ours.setLevel(logging.DEBUG)
    for logger in (ours, theirs):
        logger.addFilter(keep)
    try:
        yield kept
    finally:
        for logger in (ours, theirs):
            logger.removeFilter(keep)
        ours.setLevel(level)


@pytest.fixture
def records() -> Iterator[list[logging.LogRecord]]:
    with kept_records() as kept:
        yield kept


@pytest.fixture
def victim(server: RunningEmulator, merchants: Callable[[], Api],
           tmp_path: Path) -> Iterator[Victim]:
    api = merchants()
    sock = reserve()
    url = f"http://127.0.0.1:{sock.getsockname()[1]}/hook"
    hook = api.post("/v1/notifications/webhooks", json={"url": url,
                                                          "event_types": [{"name": "*"}]})
    assert hook.status_code == 201, hook.text
    log = tmp_path / "events.sqlite"
    app = W.receiver(log, hook.json()["id"], path="/hook",
                     allowed_cert_hosts=(server.base_url,), now=server.emulator.clock.now)
    listener = Served(app, sock)
    invoice = api.sent(items=[{"name": "Audit", "quantity": "1", "unit_amount": {
        "currency_code": "USD", "value": "5000.00"}}])
    assert invoice["status"] == "SENT"  # sent, unpaid
    # the receiver has logged CREATED and SENT before the book is made from a pull
    wait_for(lambda: log.exists() and len(W.events(log)) == 2, "the victim's two events")
    client = Client(server.base_url, api.client_id, api.secret)
    book = tmp_path / "book"
    assert ppnb.sync(client, book, events=log, progress=False).mode == "full"
    yield Victim(api, client, hook.json()["id"], url, log, book, invoice)
    client.close()
    listener.stop()
    sock.close()


def self_signed(key: rsa.RSAPrivateKey, start: dt.datetime, days: float = 30,
                name: str = "messageverificationcerts.evil.example") -> x509.Certificate:
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    return (x509.CertificateBuilder().subject_name(subject).issuer_name(subject)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(start).not_valid_after(start + dt.timedelta(days=days))
            .sign(key, hashes.SHA256()))


def pem(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.PEM)


def transmission(key: rsa.RSAPrivateKey, body: bytes, webhook_id: str, cert_url: str,
                 when: dt.datetime, tid: str | None = None) -> dict[str, str]:
    """PayPal's headers for ``body``, signed with ``key`` (anyone's)."""
    tid = tid or str(uuid.uuid4())
    sent = when.strftime("%Y-%m-%dT%H:%M:%SZ")
    signature = key.sign(signed_message(tid, sent, webhook_id, body), padding.PKCS1v15(),
                         hashes.SHA256())
    return {"PAYPAL-TRANSMISSION-ID": tid, "PAYPAL-TRANSMISSION-TIME": sent,
            "PAYPAL-TRANSMISSION-SIG": base64.b64encode(signature).decode(),
            "PAYPAL-CERT-URL": cert_url, "PAYPAL-AUTH-ALGO": "SHA256withRSA",
            "PAYPAL-AUTH-VERSION": "v2"}


def paid_event(invoice: dict[str, Any], when: dt.datetime) -> bytes:
    """An INVOICING.INVOICE.PAID event saying ``invoice`` was paid in full."""
    total = invoice["amount"]
    resource = {**invoice, "status": "PAID",
                "due_amount": {"currency_code": total["currency_code"], "value": "0.00"},
                "payments": {"paid_amount": total, "transactions": [{
                    "payment_id": "FORGED-1", "method": "BANK_TRANSFER",
                    "payment_date": when.date().isoformat(), "amount": total}]}}
    return orjson.dumps({
        "id": f"WH-{uuid.uuid4().hex[:17].upper()}", "event_version": "1.0",
        "create_time": when.strftime("%Y-%m-%dT%H:%M:%SZ"), "resource_type": "invoices",
        "resource_version": "2.0", "event_type": "INVOICING.INVOICE.PAID",
        "summary": "An invoice was paid", "resource": resource})


def refusals(records: list[logging.LogRecord]) -> list[logging.LogRecord]:
    return [r for r in records if r.name == "ppnb.webhooks"]


def assert_no_traceback(records: list[logging.LogRecord]) -> None:
    assert all(r.exc_info is None and "Traceback" not in r.getMessage() for r in records)
    assert not [r for r in records if r.name == "uvicorn.error" and r.levelno >= logging.ERROR]


# --- the attack from the issue ---------------------------------------------------------------


def test_a_merchant_cannot_mark_another_merchants_invoice_paid(
        server: RunningEmulator, merchants: Callable[[], Api], victim: Victim,
        records: list[logging.LogRecord]) -> None:
    attacker = merchants()
    now = server.emulator.clock.now()
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    cert = pem(self_signed(key, now - dt.timedelta(days=1)))
    draft = attacker.create(note=cert.decode())
    page = f"{server.base_url}/invoice/p/{draft['id']}"
    served = httpx.get(page)
    # the precondition: the public payer page carries the attacker's certificate
    assert served.status_code == 200 and "text/html" in served.headers["content-type"]
    assert x509.load_pem_x509_certificates(served.content)[0].public_bytes(
        serialization.Encoding.PEM) == cert

    forged = paid_event(victim.invoice, now)
    answer = httpx.post(victim.receiver_url, content=forged, headers=transmission(
        key, forged, victim.webhook_id, page, now))
    assert answer.status_code == 400
    assert answer.json()["error"] == "cert_url"
    assert answer.json()["name"] == "INVALID_REQUEST" and answer.json()["debug_id"]
    [line] = refusals(records)
    assert line.levelno == logging.WARNING and "cert_url" in line.getMessage()
    assert_no_traceback(records)

    assert list(W.events(victim.log)["event_type"]) == [
        "INVOICING.INVOICE.CREATED", "INVOICING.INVOICE.SENT"]  # nothing stored
    synced = ppnb.sync(victim.client, victim.book, events=victim.log)
    assert synced.mode == "events" and synced.changed == 0
    [row] = synced.tables.invoices.loc[synced.tables.invoices["id"] == victim.invoice["id"],
                                       "status"]
    assert row == "SENT"
    assert victim.api.invoice(victim.invoice["id"])["status"] == "SENT"


@pytest.mark.parametrize("trick", [
    "{base}/invoice/p/{draft}",
    "{base}/v1/notifications/certs/../../../invoice/p/{draft}",
    "{base}/v1/notifications/certs/%2e%2e/%2e%2e/%2e%2e/invoice/p/{draft}",
    "{base}/v1/notifications/certs/%2E%2E%2F%2E%2E%2F%2E%2E%2Finvoice%2Fp%2F{draft}",
    "{base}/v1/notifications/certs/..%2f..%2f..%2finvoice/p/{draft}",
    "{base}/v1/notifications/certs/CERT-1?next=/invoice/p/{draft}",
    "{base}/v1/notifications/certs/CERT-1#/invoice/p/{draft}",
    "{base}/v1/notifications/certs/CERT-1/../../../../invoice/p/{draft}",
    "{base}/v1/notifications/certs/CERT-1\\..\\..\\..\\invoice\\p\\{draft}",
    "{base}/v1/notifications/certsX/../invoice/p/{draft}",
    "{base}//v1/notifications/certs/CERT-1",
    "{base}/v1/notifications/certs/",
    "{base}/V1/notifications/certs/CERT-1",
    "{scheme}://attacker@{host}/v1/notifications/certs/CERT-1",
    "{scheme}://{host}@evil.example/v1/notifications/certs/CERT-1",
    "{scheme}://{host}:99999/v1/notifications/certs/CERT-1",
    "https://{host}/v1/notifications/certs/CERT-1",
    " {base}/v1/notifications/certs/CERT-1",
    "{base}/v1/notifications/certs/CERT-1 ",
    "{base}/v1/notifications/certs/CERT-1\n",
])
def test_certificate_urls_only_under_paypals_certificate_path(
        server: RunningEmulator, api: Api, trick: str) -> None:
    draft = api.create(note="-----BEGIN CERTIFICATE-----")["id"]
    base = httpx.URL(server.base_url)
    url = trick.format(base=server.base_url, draft=draft, scheme=base.scheme,
                       host=f"{base.host}:{base.port}")
    body = b'{"id":"WH-1","event_type":"INVOICING.INVOICE.PAID"}'
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    headers = transmission(key, body, "WH1", url, server.emulator.clock.now())
    with pytest.raises(W.WebhookVerificationError) as refused:
        W.verify(headers, body, "WH1", allowed_cert_hosts=(server.base_url,),
                 now=server.emulator.clock.now(), cache=W.CertCache())
    assert refused.value.check == "cert_url"


def test_the_emulators_own_certificate_url_still_verifies(
        server: RunningEmulator, api: Api) -> None:
    body = b'{"id":"WH-2","event_type":"INVOICING.INVOICE.CREATED"}'
    headers = server.emulator.service.webhooks.sign("WH-own", body)
    assert httpx.URL(headers["PAYPAL-CERT-URL"]).path.startswith(CERT_PATH)
    event = W.verify(headers, body, "WH-own", allowed_cert_hosts=(server.base_url,),
                     now=server.emulator.clock.now(), cache=W.CertCache())
    assert event["id"] == "WH-2"


# --- what a certificate download may be ------------------------------------------------------


class CertHost:
    """A loopback server that answers ``/v1/notifications/certs/{name}`` with what a test
    puts in :attr:`answers`."""

    def __init__(self) -> None:
        self.answers: dict[str, Callable[[], Response]] = {}

        async def cert(request: Request) -> Response:
            return self.answers[request.path_params["name"]]()

        self.served = Served(Starlette(routes=[Route(CERT_PATH + "{name}", cert)]))
        self.origin = self.served.url

    def url(self, name: str) -> str:
        return f"{self.origin}{CERT_PATH}{name}"

    @staticmethod
    def endless() -> Response:
        """256 MiB of base64 letters, streamed without a Content-Length."""
        async def chunks() -> Any:
            block = b"A" * 65536
            for _ in range(4096):
                yield block
        return StreamingResponse(chunks(), media_type=PEM_TYPE)


@pytest.fixture
def cert_host() -> Iterator[CertHost]:
    host = CertHost()
    yield host
    host.served.stop()


NOW = dt.datetime(2025, 1, 15, 9, 0, tzinfo=dt.UTC)
KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
LEAF = self_signed(KEY, NOW - dt.timedelta(days=1), name="leaf")
OTHER = self_signed(rsa.generate_private_key(public_exponent=65537, key_size=2048),
                    NOW - dt.timedelta(days=1), name="intermediate")
BODY = b'{"id":"WH-3","event_type":"INVOICING.INVOICE.SENT","resource":{"id":"INV2-X"}}'


def verify_at(host: CertHost, name: str, body: bytes = BODY, *, now: dt.datetime = NOW,
              **kw: Any) -> dict[str, Any]:
    headers = transmission(KEY, body, "WH1", host.url(name), now, kw.pop("tid", None))
    return W.verify(headers, body, "WH1", allowed_cert_hosts=(host.origin,), now=now,
                    cache=W.CertCache(), **kw)


def check_at(host: CertHost, name: str, **kw: Any) -> str:
    return refusal_at(host, name, **kw).check


def refusal_at(host: CertHost, name: str, **kw: Any) -> W.WebhookVerificationError:
    with pytest.raises(W.WebhookVerificationError) as refused:
        verify_at(host, name, **kw)
    return refused.value


def test_a_bare_pem_chain_is_accepted_and_its_first_certificate_is_the_leaf(
        cert_host: CertHost) -> None:
    chain = pem(LEAF) + b"\n" + pem(OTHER)
    cert_host.answers["CERT-chain"] = lambda: Response(chain, media_type=PEM_TYPE)
    cert_host.answers["CERT-crlf"] = lambda: Response(
        b"\r\n" + pem(LEAF).replace(b"\n", b"\r\n") + b"\r\n\r\n", media_type=PEM_TYPE)
    cert_host.answers["CERT-wrong-leaf"] = lambda: Response(pem(OTHER) + pem(LEAF))
    assert verify_at(cert_host, "CERT-chain")["id"] == "WH-3"
    assert verify_at(cert_host, "CERT-crlf")["id"] == "WH-3"
    assert check_at(cert_host, "CERT-wrong-leaf") == "signature"


@pytest.mark.parametrize("answer", [
    pytest.param(lambda: b"<html><body><p>" + pem(LEAF) + b"</p></body></html>", id="html"),
    pytest.param(lambda: b"note: " + pem(LEAF), id="text-before"),
    pytest.param(lambda: pem(LEAF) + b"<!-- -->", id="text-after"),
    pytest.param(lambda: pem(LEAF) + b"-----BEGIN PRIVATE KEY-----\nAAAA\n"
                 b"-----END PRIVATE KEY-----\n", id="other-pem-block"),
    pytest.param(lambda: pem(LEAF).replace(b"\n", b"\n<b>", 1), id="markup-inside"),
    pytest.param(lambda: b"", id="empty"),
    pytest.param(lambda: b"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n",
                 id="not-a-certificate"),
    pytest.param(lambda: pem(LEAF) * (W.MAX_CERT_BYTES // len(pem(LEAF)) + 1), id="over-bound"),
])
def test_anything_but_a_bare_bounded_pem_chain_is_refused(
        cert_host: CertHost, answer: Callable[[], bytes]) -> None:
    cert_host.answers["CERT-x"] = lambda: Response(answer(), media_type=PEM_TYPE)
    assert check_at(cert_host, "CERT-x") == "cert_fetch"


def test_a_certificate_download_is_cut_at_the_bound(cert_host: CertHost) -> None:
    assert W.MAX_CERT_BYTES == 64 * 1024
    cert_host.answers["CERT-endless"] = cert_host.endless
    cert_host.answers["CERT-declared"] = lambda: Response(b"A" * (W.MAX_CERT_BYTES + 1))
    cert_host.answers["CERT-at-bound"] = lambda: Response(
        pem(LEAF) + b"\n" * (W.MAX_CERT_BYTES - len(pem(LEAF))), media_type=PEM_TYPE)
    streamed = refusal_at(cert_host, "CERT-endless")  # no length: counted as it streams
    assert streamed.check == "cert_fetch"
    assert "is over the 65536-byte bound" in str(streamed)
    declared = refusal_at(cert_host, "CERT-declared")  # refused on its Content-Length
    assert declared.check == "cert_fetch"
    assert "is 65537 bytes, over the 65536-byte bound" in str(declared)
    assert verify_at(cert_host, "CERT-at-bound")["id"] == "WH-3"  # the bound itself is fine


def test_a_redirect_or_an_error_status_is_not_followed(cert_host: CertHost) -> None:
    cert_host.answers["CERT-moved"] = lambda: Response(
        status_code=302, headers={"location": "/elsewhere"})
    cert_host.answers["CERT-gone"] = lambda: Response(pem(LEAF), status_code=404)
    assert check_at(cert_host, "CERT-moved") == "cert_fetch"
    assert check_at(cert_host, "CERT-gone") == "cert_fetch"


def test_the_leaf_must_be_valid_now(cert_host: CertHost) -> None:
    cert_host.answers["CERT-old"] = lambda: Response(pem(self_signed(
        KEY, NOW - dt.timedelta(days=31), days=30)))
    cert_host.answers["CERT-early"] = lambda: Response(pem(self_signed(
        KEY, NOW + dt.timedelta(hours=1), days=30)))
    cert_host.answers["CERT-ok"] = lambda: Response(pem(LEAF) + pem(self_signed(
        KEY, NOW - dt.timedelta(days=400), days=30)))  # an expired second one is not the leaf
    assert check_at(cert_host, "CERT-old") == "cert_expired"
    assert check_at(cert_host, "CERT-early") == "cert_expired"
    assert verify_at(cert_host, "CERT-ok")["id"] == "WH-3"


# --- a transmission id is one body -----------------------------------------------------------


def test_a_transmission_id_seen_with_another_body_is_refused(
        cert_host: CertHost, tmp_path: Path) -> None:
    cert_host.answers["CERT-1"] = lambda: Response(pem(LEAF), media_type=PEM_TYPE)
    seen = W.EventLog(tmp_path / "log.sqlite")
    other = BODY.replace(b"WH-3", b"WH-4")
    assert verify_at(cert_host, "CERT-1", tid="T-1", seen=seen)["id"] == "WH-3"
    assert verify_at(cert_host, "CERT-1", tid="T-1", seen=seen)["id"] == "WH-3"  # redelivery
    assert check_at(cert_host, "CERT-1", body=other, tid="T-1", seen=seen) == "transmission_id"
    assert verify_at(cert_host, "CERT-1", body=other, tid="T-2", seen=seen)["id"] == "WH-4"
    seen.close()
    reopened = W.EventLog(tmp_path / "log.sqlite")  # it is remembered across restarts
    assert check_at(cert_host, "CERT-1", body=other, tid="T-1", seen=reopened) == (
        "transmission_id")
    reopened.close()


def crc_twin(body: bytes, wanted: int, pad: bytes = b"b" * 64) -> bytes:
    """``body`` with a ``"pad"`` member whose letters are chosen (``b`` or ``c``) so that the
    CRC32 of the whole is ``wanted``: CRC32 is affine over GF(2), so flipping bit 0 of some of
    64 letters reaches any 32-bit value (Gaussian elimination)."""
    base = body[:-1] + b',"pad":"' + pad + b'"}'
    start = len(base) - len(pad) - 2
    rows = []  # (effect on the CRC, set of flipped positions)
    for i in range(len(pad)):
        flipped = bytearray(base)
        flipped[start + i] ^= 1
        rows.append((zlib.crc32(bytes(flipped)) ^ zlib.crc32(base), 1 << i))
    target, pivots = zlib.crc32(base) ^ wanted, {}
    for effect, mask in rows:
        for bit in sorted(pivots, reverse=True):
            if effect >> bit & 1:
                effect, mask = effect ^ pivots[bit][0], mask ^ pivots[bit][1]
        if effect:
            pivots[effect.bit_length() - 1] = (effect, mask)
    chosen = 0
    for bit in sorted(pivots, reverse=True):
        if target >> bit & 1:
            target, chosen = target ^ pivots[bit][0], chosen ^ pivots[bit][1]
    assert target == 0, "64 letters always suffice"
    twin = bytearray(base)
    for i in range(len(pad)):
        if chosen >> i & 1:
            twin[start + i] ^= 1
    return bytes(twin)


def test_a_crc32_twin_of_a_real_delivery_is_refused(
        server: RunningEmulator, victim: Victim, records: list[logging.LogRecord]) -> None:
    captured: list[tuple[dict[str, str], bytes]] = []

    async def capture(request: Request) -> Response:
        captured.append((dict(request.headers), await request.body()))
        return Response(status_code=204)

    capturer = Served(Starlette(routes=[Route("/spy", capture, methods=["POST"])]))
    spied = victim.api.post("/v1/notifications/webhooks", json={
        "url": capturer.url + "/spy", "event_types": [{"name": "INVOICING.INVOICE.UPDATED"}]})
    assert spied.status_code == 201
    draft = victim.api.create()
    assert victim.api.put(f"/v2/invoicing/invoices/{draft['id']}", {
        **{k: draft[k] for k in ("detail", "items", "primary_recipients")},
        "detail": {**draft["detail"], "memo": "changed"}}).status_code == 200
    wait_for(lambda: captured, "the spied delivery")
    capturer.stop()
    headers, raw = captured[0]
    # the same transmission, as the victim's receiver would get it (signed for the spy's hook:
    # replayed to a receiver that trusts that id)
    forward = {k: v for k, v in headers.items() if k.startswith("paypal-")}
    sock = reserve()
    log = victim.log.with_name("spied.sqlite")
    app = W.receiver(log, spied.json()["id"], allowed_cert_hosts=(server.base_url,),
                     now=server.emulator.clock.now)
    listener = Served(app, sock)
    target = f"http://127.0.0.1:{sock.getsockname()[1]}/"
    assert httpx.post(target, content=raw, headers=forward).status_code == 200
    event = orjson.loads(raw)
    forged = orjson.dumps({**event, "id": event["id"][:-1] + "Z", "event_type":
                           "INVOICING.INVOICE.PAID",
                           "resource": {**event["resource"], "status": "PAID"}})
    twin = crc_twin(forged, zlib.crc32(raw))
    assert zlib.crc32(twin) == zlib.crc32(raw) and orjson.loads(twin)["resource"]["status"] == (
        "PAID")
    # the signature still holds (only the CRC32 is signed) ...
    assert W.verify(forward, twin, spied.json()["id"], allowed_cert_hosts=(server.base_url,),
                    now=server.emulator.clock.now(), cache=W.CertCache())
    # ... so only the transmission id stops it
    refused = httpx.post(target, content=twin, headers=forward)
    assert refused.status_code == 400 and refused.json()["error"] == "transmission_id"
    again = httpx.post(target, content=raw, headers=forward)  # the real one, redelivered
    assert again.status_code == 200 and again.json()["duplicate"] is True
    assert list(W.events(log)["event_id"]) == [event["id"]]
    [line] = refusals(records)
    assert "transmission_id" in line.getMessage()
    assert_no_traceback(records)
    listener.stop()
    sock.close()
