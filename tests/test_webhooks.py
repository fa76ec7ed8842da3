"""Webhooks end to end: PayPal's signature scheme, the emulator's deliveries and retries, the
receiver's log, postback verification, and a snapshot kept current from events."""

from __future__ import annotations

import base64
import datetime as dt
import json
import socket
import time
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pandas as pd
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.x509.oid import NameOID
from helpers import Served, control_headers, reserve, wait_for
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

import ppnb
from ppnb import webhooks as W
from ppnb.client import Client
from ppnb.emulator import Clock, RunningEmulator, start
from ppnb.emulator._webhooks import DeliveryPolicy

NOW = dt.datetime(2025, 1, 15, 9, 0, tzinfo=dt.UTC)
FAST = DeliveryPolicy(attempts=40, base_delay=0.05, max_delay=0.5, timeout=5)


@dataclass
class Rig:
    running: RunningEmulator
    client: Client
    webhook_id: str
    log: Path
    sock: socket.socket

    def listen(self) -> Served:
        app = W.receiver(self.log, self.webhook_id, path="/hook",
                         allowed_cert_hosts=(self.running.base_url,),
                         now=self.running.emulator.clock.now)
        return Served(app, self.sock)

    def settled(self) -> list[dict[str, Any]]:
        """Every delivery, once none is pending."""
        def done() -> list[dict[str, Any]] | None:
            found = self.running.emulator.deliveries()
            return found if found and all(d["status"] != "PENDING" for d in found) else None
        return wait_for(done, "deliveries to settle")


def invoice_body(**detail: Any) -> dict[str, Any]:
    return {"detail": {"currency_code": "USD", **detail},
            "primary_recipients": [{"billing_info": {"email_address": "ada@example.com"}}],
            "items": [{"name": "Consulting", "quantity": "2",
                       "unit_amount": {"currency_code": "USD", "value": "50.00"}}]}


@pytest.fixture
def rig(tmp_path: Path) -> Iterator[Rig]:
    with start(clock=Clock(NOW, frozen=True), webhook_policy=FAST) as running:
        creds = running.credentials
        client = Client(running.base_url, creds.client_id, creds.client_secret)
        sock = reserve()
        hook = W.WebhookAPI(client).create(f"http://127.0.0.1:{sock.getsockname()[1]}/hook")
        yield Rig(running, client, hook["id"], tmp_path / "events.sqlite", sock)
        client.close()
        sock.close()


# --- the signature scheme, by hand -----------------------------------------------------------


def make_cert(key: rsa.RSAPrivateKey, start: dt.datetime, days: int) -> x509.Certificate:
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "test")])
    return (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key()).serial_number(1).not_valid_before(start)
            .not_valid_after(start + dt.timedelta(days=days)).sign(key, hashes.SHA256()))


KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
CERT_URL = "https://api.sandbox.paypal.com/v1/notifications/certs/CERT-test"


def signed(body: bytes, webhook_id: str = "WH1", when: str = "2025-01-15T09:00:00Z"
           ) -> dict[str, str]:
    message = f"tid-1|{when}|{webhook_id}|{zlib.crc32(body)}".encode()  # by hand
    signature = KEY.sign(message, padding.PKCS1v15(), hashes.SHA256())
    return {"PAYPAL-TRANSMISSION-ID": "tid-1", "PAYPAL-TRANSMISSION-TIME": when,
            "PAYPAL-TRANSMISSION-SIG": base64.b64encode(signature).decode(),
            "PAYPAL-CERT-URL": CERT_URL, "PAYPAL-AUTH-ALGO": "SHA256withRSA"}


def cache_with(cert: x509.Certificate, url: str = CERT_URL) -> W.CertCache:
    cache = W.CertCache()
    cache.get(url, lambda u: cert)
    return cache


def test_signed_message_known_answer() -> None:
    # CRC-32's check value: crc32(b"123456789") = 0xCBF43926, above 2**31, so written unsigned
    assert W.signed_message("tid", "2025-01-15T09:00:00Z", "WH1", b"123456789") == (
        b"tid|2025-01-15T09:00:00Z|WH1|3421780262")
    with pytest.raises(TypeError, match="raw request bytes"):
        W.signed_message("tid", "t", "WH1", '{"id": 1}')  # type: ignore[arg-type]


def test_verify_accepts_the_signed_body_and_rejects_every_tampering() -> None:
    body = b'{"id":"WH-1","event_type":"INVOICING.INVOICE.PAID","resource":{"id":"INV2-1"}}'
    headers = signed(body)
    cache = cache_with(make_cert(KEY, NOW - dt.timedelta(days=1), 30))
    ok = dict(now=NOW, cache=cache)
    assert W.verify(headers, body, "WH1", **ok)["resource"] == {"id": "INV2-1"}
    assert W.verify({k.lower(): v for k, v in headers.items()}, body, "WH1", **ok)["id"] == (
        "WH-1")

    def check(headers: dict[str, str], body: bytes, webhook_id: str = "WH1", **kw: Any) -> str:
        with pytest.raises(W.WebhookVerificationError) as info:
            W.verify(headers, body, webhook_id, **{**ok, **kw})
        return info.value.check

    for i in (0, len(body) // 2, len(body) - 1):  # flip one byte anywhere
        flipped = body[:i] + bytes([body[i] ^ 1]) + body[i + 1:]
        assert check(headers, flipped) == "signature"
    reserialised = json.dumps(json.loads(body), indent=1).encode()  # the classic pitfall
    assert check(headers, reserialised) == "signature"
    assert check(headers, body, "WH2") == "signature"
    assert check({**headers, "PAYPAL-TRANSMISSION-SIG": headers["PAYPAL-TRANSMISSION-SIG"][
        :-4] + "AAA="}, body) == "signature"
    assert check(headers, body, now=NOW + dt.timedelta(minutes=6)) == "transmission_time"
    assert check(headers, body, now=NOW - dt.timedelta(minutes=6)) == "transmission_time"
    assert W.verify(headers, body, "WH1", cache=cache, now=NOW + dt.timedelta(minutes=4))
    assert check({**headers, "PAYPAL-AUTH-ALGO": "HMACSHA256"}, body) == "algorithm"
    assert check({k: v for k, v in headers.items() if k != "PAYPAL-TRANSMISSION-SIG"},
                 body) == "headers"
    for url in ("https://evil.example.com/v1/notifications/certs/CERT-test",
                "http://api.sandbox.paypal.com/v1/notifications/certs/CERT-test",
                "https://api.sandbox.paypal.com.evil.example/x",
                "http://127.0.0.1:9/v1/notifications/certs/CERT-test"):
        assert check({**headers, "PAYPAL-CERT-URL": url}, body) == "cert_url"
    expired = cache_with(make_cert(KEY, NOW - dt.timedelta(days=40), 30))
    assert check(headers, body, cache=expired) == "cert_expired"
    other = cache_with(make_cert(rsa.generate_private_key(public_exponent=65537, key_size=2048),
                                 NOW - dt.timedelta(days=1), 30))
    assert check(headers, body, cache=other) == "signature"
    with pytest.raises(TypeError, match="re-serialised"):
        W.verify(headers, json.loads(body), "WH1", **ok)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="not loopback"):
        W.verify(headers, body, "WH1", allowed_cert_hosts=("http://example.com",), **ok)


# --- the emulator's API ----------------------------------------------------------------------


def test_webhook_subscriptions_are_per_merchant_and_bounded(rig: Rig) -> None:
    api = W.WebhookAPI(rig.client)
    [only] = api.list()
    assert only["id"] == rig.webhook_id and only["event_types"][0]["name"] == "*"
    assert api.get(rig.webhook_id)["url"].endswith("/hook")
    with pytest.raises(ppnb.client.InvalidRequest) as dup:
        api.create(only["url"])
    assert dup.value.issues == ["WEBHOOK_URL_ALREADY_EXISTS"]
    with pytest.raises(ppnb.client.InvalidRequest) as bad:
        api.create("https://example.com/x", ["PAYMENT.SALE.COMPLETED"])
    assert bad.value.issues == ["INVALID_PARAMETER_VALUE"]
    made = [api.create(f"https://example.com/{i}", ["INVOICING.INVOICE.PAID"])
            for i in range(9)]
    with pytest.raises(ppnb.client.InvalidRequest) as full:
        api.create("https://example.com/10")
    assert full.value.issues == ["WEBHOOK_NUMBER_LIMIT_EXCEEDED"]
    other_id, other_secret = "other-merchant", "other-secret-0123456789"
    rig.running.emulator.add_merchant(other_id, other_secret)
    other = W.WebhookAPI(Client(rig.running.base_url, other_id, other_secret))
    assert other.list() == []
    with pytest.raises(ppnb.client.NotFound):
        other.get(rig.webhook_id)
    api.delete(made[0]["id"])
    assert len(api.list()) == 9
    names = {t["name"] for t in rig.client.call(
        "GET", "/v1/notifications/webhooks-event-types")["event_types"]}
    assert names == {f"INVOICING.INVOICE.{n}" for n in (
        "CREATED", "UPDATED", "SENT", "SCHEDULED", "PAID", "REFUNDED", "CANCELLED")}


# --- end to end ------------------------------------------------------------------------------


def test_every_event_type_reaches_the_log(rig: Rig) -> None:
    listener = rig.listen()
    client, emulator = rig.client, rig.running.emulator
    a = client.invoices.create(invoice_body())["id"]
    client.invoices.update(a, {**invoice_body(), "detail": {"currency_code": "USD",
                                                          "memo": "changed"}})
    client.invoices.send(a)
    client.invoices.record_payment(a, {"method": "CASH", "amount": {
        "currency_code": "USD", "value": "30.00"}}, request_id="pay-once")
    client.invoices.record_payment(a, {"method": "CASH", "amount": {
        "currency_code": "USD", "value": "30.00"}}, request_id="pay-once")  # a replay
    page = httpx.post(f"{rig.running.base_url}/invoice/p/{a}/pay", data={})
    assert page.status_code == 303  # the payer page: the rest, through PayPal
    client.invoices.record_refund(a, {"method": "CASH", "amount": {
        "currency_code": "USD", "value": "5.00"}})
    b = client.invoices.create(invoice_body())["id"]
    client.invoices.send(b)
    client.invoices.cancel(b)
    c = client.invoices.create(invoice_body(invoice_date="2025-01-17"))["id"]
    client.invoices.send(c)  # scheduled
    rig.settled()  # a delivery signed before the jump would be refused once, then retried
    moved = httpx.post(f"{rig.running.base_url}/_emulator/clock", json={"advance_days": 2},
                       headers=control_headers(rig.running))
    assert moved.json()["fired"] == [c]  # the clock sends it
    d = client.invoices.create({**invoice_body(), "configuration": {
        "partial_payment": {"allow_partial_payment": True}}})["id"]
    client.invoices.send(d)
    emulator.pay(d, "40.00")  # the customer pays part, as Emulator.pay

    expected = [(a, "CREATED"), (a, "UPDATED"), (a, "SENT"), (a, "PAID"), (a, "PAID"),
                (a, "REFUNDED"), (b, "CREATED"), (b, "SENT"), (b, "CANCELLED"),
                (c, "CREATED"), (c, "SCHEDULED"), (c, "SENT"), (d, "CREATED"), (d, "SENT"),
                (d, "PAID")]
    deliveries = rig.settled()
    assert [d["status"] for d in deliveries] == ["SUCCESS"] * len(expected)
    assert all(len(d["attempts"]) == 1 and d["attempts"][0]["http_status"] == 200
               for d in deliveries), deliveries
    log = W.events(rig.log)
    assert list(zip(log["resource_id"], log["event_type"], strict=True)) == [
        (i, f"INVOICING.INVOICE.{t}") for i, t in expected]
    assert log["event_id"].is_unique
    assert log["create_time"].iloc[0] == pd.Timestamp("2025-01-15T09:00:00Z")
    assert log["create_time"].iloc[-1] == pd.Timestamp("2025-01-17T09:00:00Z")
    # each event carries the invoice as it was then; the last one as it is now
    statuses = [json.loads(r)["status"] for r in log["resource"]]
    assert statuses[:6] == ["DRAFT", "DRAFT", "SENT", "PARTIALLY_PAID", "PAID",
                            "PARTIALLY_REFUNDED"]
    for invoice_id in (a, b, c, d):
        last = log.loc[log["resource_id"] == invoice_id, "resource"].iloc[-1]
        assert json.loads(last) == client.invoices.get(invoice_id)
    # the event list has the same events, newest first, each with its delivery attempt
    listed = W.WebhookAPI(client).events(page_size=100)
    assert [e["id"] for e in listed] == list(log["event_id"])[::-1]
    event = W.WebhookAPI(client).event(listed[-1]["id"])
    assert event["resource_type"] == "invoices" and event["summary"] == "An invoice was created"
    assert event["links"][0]["href"].startswith(rig.running.base_url + "/v1/notifications/")
    assert event["transmissions"][0]["attempts"][0]["http_status"] == 200
    listener.stop()


def test_deliveries_retry_until_the_listener_comes_up(rig: Rig) -> None:
    client, emulator = rig.client, rig.running.emulator
    began = time.monotonic()
    invoice = client.invoices.create(invoice_body())["id"]
    client.invoices.send(invoice)
    assert time.monotonic() - began < 5  # the API call never waits for a delivery

    def failed_twice() -> bool:
        found = emulator.deliveries()
        return len(found) == 2 and all(len(d["attempts"]) >= 2 for d in found)

    wait_for(failed_twice, "two refused attempts per delivery")
    listener = rig.listen()
    deliveries = rig.settled()
    assert [d["status"] for d in deliveries] == ["SUCCESS", "SUCCESS"]
    for delivery in deliveries:
        *refused, last = delivery["attempts"]
        assert all(a["http_status"] is None and "ConnectError" in a["error"] for a in refused)
        assert last["http_status"] == 200 and last["error"] is None
        assert [a["number"] for a in delivery["attempts"]] == list(
            range(1, len(refused) + 2))
        assert len({a["transmission_id"] for a in delivery["attempts"]}) == len(
            delivery["attempts"])
    log = W.events(rig.log)
    assert list(log["event_type"]) == ["INVOICING.INVOICE.CREATED", "INVOICING.INVOICE.SENT"]

    # resending an event delivers it again; the log keeps it once
    W.WebhookAPI(client).resend(log["event_id"].iloc[0])
    wait_for(lambda: len(emulator.deliveries()) == 3, "the resend")
    third = rig.settled()[-1]
    assert third["status"] == "SUCCESS" and third["event_id"] == log["event_id"].iloc[0]
    assert len(W.events(rig.log)) == 2
    listener.stop()


def test_a_delivery_gives_up_after_its_attempts(tmp_path: Path) -> None:
    policy = DeliveryPolicy(attempts=3, base_delay=0.01)
    with start(clock=Clock(NOW, frozen=True), webhook_policy=policy) as running:
        creds = running.credentials
        client = Client(running.base_url, creds.client_id, creds.client_secret)
        dead = reserve()
        W.WebhookAPI(client).create(f"http://127.0.0.1:{dead.getsockname()[1]}/",
                                    ["INVOICING.INVOICE.CREATED"])
        client.invoices.create(invoice_body())
        [failed] = wait_for(lambda: running.emulator.deliveries(status="FAILED"), "give up")
        assert len(failed["attempts"]) == 3 and failed["next_attempt_in"] is None
        listed = httpx.get(f"{running.base_url}/_emulator/webhooks/deliveries",
                           params={"status": "FAILED"},
                           headers=control_headers(running)).json()["deliveries"]
        assert [d["id"] for d in listed] == [failed["id"]]
        dead.close()
        client.close()


def test_pending_deliveries_and_the_signing_key_survive_a_restart(tmp_path: Path) -> None:
    db, creds = tmp_path / "book.sqlite", [("restart-merchant", "restart-secret-0123456789")]
    sock = reserve()
    url = f"http://127.0.0.1:{sock.getsockname()[1]}/hook"
    with start(db, merchants=creds, clock=Clock(NOW, frozen=True),
               webhook_policy=FAST) as first:
        client = Client(first.base_url, *creds[0])
        webhook_id = W.WebhookAPI(client).create(url)["id"]
        client.invoices.create(invoice_body())
        wait_for(lambda: first.emulator.deliveries()[0]["attempts"], "a refused attempt")
        cert_path = httpx.URL(first.emulator.service.webhooks.sign("x", b"")[
            "PAYPAL-CERT-URL"]).path
        client.close()
    with start(db, merchants=creds, clock=Clock(NOW, frozen=True),
               webhook_policy=FAST) as second:
        assert httpx.URL(second.emulator.service.webhooks.sign("x", b"")[
            "PAYPAL-CERT-URL"]).path == cert_path
        app = W.receiver(tmp_path / "log.sqlite", webhook_id, path="/hook",
                         allowed_cert_hosts=(second.base_url,), now=second.emulator.clock.now)
        listener = Served(app, sock)
        wait_for(lambda: second.emulator.deliveries(status="SUCCESS"), "the resumed delivery")
        assert list(W.events(tmp_path / "log.sqlite")["event_type"]) == [
            "INVOICING.INVOICE.CREATED"]
        listener.stop()
    sock.close()


# --- what the receiver refuses; postback verification -------------------------------------


def test_receiver_refuses_tampering_and_replays_and_postback_verifies(rig: Rig) -> None:
    captured: list[tuple[dict[str, str], bytes]] = []

    async def capture(request: Request) -> Response:
        captured.append((dict(request.headers), await request.body()))
        return Response(status_code=204)

    capturer = Served(Starlette(routes=[Route("/hook", capture, methods=["POST"])]), rig.sock)
    invoice = rig.client.invoices.create(invoice_body())["id"]
    wait_for(lambda: captured, "a delivery")
    capturer.stop()
    headers, raw = captured[0]
    now = rig.running.emulator.clock.now()
    hosts = (rig.running.base_url,)
    event = W.verify(headers, raw, rig.webhook_id, allowed_cert_hosts=hosts, now=now)
    assert event["resource"]["id"] == invoice
    assert headers["paypal-cert-url"].startswith(
        rig.running.base_url + "/v1/notifications/certs/CERT-")

    # the receiver, served on its own port
    sock = reserve()
    app = W.receiver(rig.log, rig.webhook_id, allowed_cert_hosts=hosts,
                     now=rig.running.emulator.clock.now)
    listener = Served(app, sock)
    target = f"http://127.0.0.1:{sock.getsockname()[1]}/"
    forward = {k: v for k, v in headers.items() if k.startswith("paypal-")}
    tampered = raw.replace(b'"DRAFT"', b'"PAID!"')
    refused = httpx.post(target, content=tampered, headers=forward)
    assert refused.status_code == 400 and refused.json()["error"] == "signature"
    assert httpx.post(target, content=raw, headers={**forward, "paypal-cert-url":
                      "https://evil.example/c"}).json()["error"] == "cert_url"
    first = httpx.post(target, content=raw, headers=forward)
    assert first.status_code == 200 and first.json() == {"event_id": event["id"],
                                                        "duplicate": False}
    again = httpx.post(target, content=raw, headers=forward)
    assert again.status_code == 200 and again.json()["duplicate"] is True
    assert len(W.events(rig.log)) == 1
    rig.running.emulator.clock.advance(seconds=301)  # the same request, later: a replay
    late = httpx.post(target, content=raw, headers=forward)
    assert late.status_code == 400 and late.json()["error"] == "transmission_time"
    listener.stop()
    sock.close()

    # postback: the emulator checks the signature, as PayPal does
    assert W.verify_by_postback(rig.client, headers, raw, rig.webhook_id)["id"] == event["id"]
    with pytest.raises(W.WebhookVerificationError, match="postback"):
        W.verify_by_postback(rig.client, headers, tampered, rig.webhook_id)
    with pytest.raises(W.WebhookVerificationError, match="postback"):
        W.verify_by_postback(rig.client, headers, raw, "NOTMYWEBHOOK1")
    with pytest.raises(W.WebhookVerificationError, match="postback"):
        W.verify_by_postback(rig.client, {**headers, "paypal-transmission-id": "other"}, raw,
                             rig.webhook_id)


# --- sync from events ------------------------------------------------------------------------


def test_applying_the_event_log_equals_a_full_pull(rig: Rig, tmp_path: Path) -> None:
    listener = rig.listen()
    client, emulator = rig.client, rig.running.emulator
    ids = [client.invoices.create(invoice_body(invoice_number=f"E-{i}"))["id"]
           for i in range(8)]
    for invoice_id in ids[:6]:
        client.invoices.send(invoice_id)
    client.invoices.record_payment(ids[0], {"method": "CASH"})
    rig.settled()
    book = tmp_path / "book"
    first = ppnb.sync(client, book, events=rig.log)
    assert first.mode == "full"

    emulator.clock.advance(days=1)
    client.invoices.record_refund(ids[0], {"method": "CASH", "amount": {
        "currency_code": "USD", "value": "10.00"}})
    client.invoices.record_payment(ids[1], {"method": "CASH", "amount": {
        "currency_code": "USD", "value": "1.00"}})
    emulator.pay(ids[2])
    client.invoices.cancel(ids[3])
    client.invoices.update(ids[4], {**invoice_body(invoice_number="E-4"), "detail": {
        "currency_code": "USD", "invoice_number": "E-4", "memo": "changed"}})
    client.invoices.send(ids[6])
    new = client.invoices.create(invoice_body(invoice_number="E-new"))["id"]
    client.invoices.send(new)
    rig.settled()

    before = client.stats["requests"]
    synced = ppnb.sync(client, book, events=rig.log)
    assert synced.mode == "events" and synced.requests == 0
    assert client.stats["requests"] == before
    assert synced.changed == 7  # six changed invoices and a new one
    fresh = ppnb.fetch_tables(client, progress=False)
    for name in ("invoices", "items", "payments", "refunds"):
        keys = {"invoices": ["id"], "items": ["invoice_id", "line"],
                "payments": ["invoice_id", "payment_id"],
                "refunds": ["invoice_id", "refund_id"]}[name]
        pd.testing.assert_frame_equal(
            getattr(synced.tables, name).sort_values(keys, ignore_index=True),
            getattr(fresh, name).sort_values(keys, ignore_index=True), obj=name)
    assert ppnb.sync(client, book, events=rig.log).changed == 0  # nothing new in the log
    listener.stop()
