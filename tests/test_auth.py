"""OAuth client credentials, bearer tokens, merchant isolation and PayPal-Auth-Assertion."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from helpers import Api, invoice_body

from ppnb.emulator import RunningEmulator

TOKEN = "/v1/oauth2/token"
INVOICES = "/v2/invoicing/invoices"
SEARCH = "/v2/invoicing/search-invoices"
TEMPLATES = "/v2/invoicing/templates"
NEXT_NUMBER = "/v2/invoicing/generate-next-invoice-number"
SCOPE = "https://uri.paypal.com/services/invoicing"


def basic(client_id: str, secret: str) -> str:
    return "Basic " + base64.b64encode(f"{client_id}:{secret}".encode()).decode()


def b64url(value: Any) -> str:
    raw = value if isinstance(value, bytes) else json.dumps(value).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def assertion(iss: str, payer_id: Any) -> str:
    """PayPal-Auth-Assertion: an unsigned JWT naming the partner (iss) and the merchant."""
    return f"{b64url({'alg': 'none'})}.{b64url({'iss': iss, 'payer_id': payer_id})}."


def assert_error(response: httpx.Response, status: int, name: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body = response.json()
    assert body["name"] == name, body
    assert body["message"]
    assert body["debug_id"] and body["debug_id"] == response.headers["paypal-debug-id"]
    return body


def total(api: Api, headers: dict[str, str] | None = None, **filters: Any) -> int:
    response = api.post(SEARCH, filters, headers=headers,
                        params={"total_required": "true", "page_size": 100})
    assert response.status_code == 200, response.text
    return response.json()["total_items"]


def ids(api: Api, headers: dict[str, str] | None = None) -> set[str]:
    response = api.post(SEARCH, {}, headers=headers, params={"page_size": 100})
    assert response.status_code == 200, response.text
    return {doc["id"] for doc in response.json()["items"]}


@pytest.fixture
def other(merchants: Callable[[], Api]) -> Api:
    """A second, unrelated merchant on the same emulator."""
    return merchants()


@pytest.fixture
def other2(merchants: Callable[[], Api]) -> Api:
    """A third merchant, where a test needs one."""
    return merchants()


# --- the token endpoint -----------------------------------------------------------------------


def test_client_credentials_token(api: Api, server: RunningEmulator) -> None:
    response = api.http.post(TOKEN, headers={"Authorization": basic(api.client_id, api.secret)},
                             data={"grant_type": "client_credentials"})
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    assert body["token_type"] == "Bearer"
    assert body["access_token"] and body["access_token"] != api.token
    assert body["app_id"].startswith("APP-")
    assert isinstance(body["expires_in"], int)
    assert body["expires_in"] == server.emulator.service.token_ttl > 0
    assert SCOPE in body["scope"].split()
    # The new token works, and so does the earlier one.
    fresh = {"Authorization": f"Bearer {body['access_token']}"}
    assert api.get(INVOICES, headers=fresh).status_code == 200
    assert api.get(INVOICES).status_code == 200


def test_app_id_is_stable_per_app(api: Api, other: Api) -> None:
    def app_id(client: Api) -> str:
        response = client.http.post(TOKEN, auth=(client.client_id, client.secret),
                                    data={"grant_type": "client_credentials"})
        return response.json()["app_id"]

    assert app_id(api) == app_id(api) != app_id(other)


@pytest.mark.parametrize(
    "make_header",
    [
        pytest.param(lambda c: basic(c.client_id, c.secret + "x"), id="wrong-secret"),
        pytest.param(lambda c: basic(c.client_id, ""), id="empty-secret"),
        pytest.param(lambda c: basic("no-such-client", c.secret), id="unknown-client"),
        pytest.param(lambda c: None, id="missing"),
        pytest.param(lambda c: "Basic %%%not-base64%%%", id="not-base64"),
        pytest.param(lambda c: "Basic " + base64.b64encode(c.client_id.encode()).decode(),
                     id="no-colon"),
        pytest.param(lambda c: f"Bearer {c.token}", id="bearer-instead-of-basic"),
    ],
)
def test_token_refused_for_bad_client(api: Api, make_header: Any) -> None:
    header = make_header(api)
    response = api.http.post(TOKEN, headers={"Authorization": header} if header else {},
                             data={"grant_type": "client_credentials"})
    assert response.status_code == 401, response.text
    body = response.json()
    assert body["error"] == "invalid_client"
    assert "access_token" not in body


@pytest.mark.parametrize("data", [{"grant_type": "password"}, {"grant_type": ""},
                                  {"grant_type": "authorization_code"}, {}],
                         ids=["password", "empty", "authorization_code", "missing"])
def test_token_refused_for_wrong_grant(api: Api, data: dict[str, str]) -> None:
    response = api.http.post(TOKEN, auth=(api.client_id, api.secret), data=data)
    assert response.status_code == 400, response.text
    body = response.json()
    assert body["error"] == "unsupported_grant_type"
    assert "access_token" not in body


# --- bearer tokens on the API -----------------------------------------------------------------


BAD_HEADERS = {
    "none": lambda c: {},
    "empty": lambda c: {"Authorization": ""},
    "bearer-without-token": lambda c: {"Authorization": "Bearer"},
    "no-scheme": lambda c: {"Authorization": c.token},
    "other-scheme": lambda c: {"Authorization": f"Token {c.token}"},
    "basic-credentials": lambda c: {"Authorization": basic(c.client_id, c.secret)},
    "unknown-token": lambda c: {"Authorization": "Bearer A21AAunknowntoken"},
    "altered-token": lambda c: {"Authorization": f"Bearer {c.token[:-1]}"},
    "secret-as-token": lambda c: {"Authorization": f"Bearer {c.secret}"},
}
CALLS: list[tuple[str, str, Any]] = [
    ("GET", INVOICES, None),
    ("POST", INVOICES, invoice_body()),
    ("GET", "{invoice}", None),
    ("PUT", "{invoice}", invoice_body(memo="changed")),
    ("DELETE", "{invoice}", None),
    ("POST", "{invoice}/send", {}),
    ("POST", SEARCH, {}),
    ("GET", TEMPLATES, None),
    ("POST", NEXT_NUMBER, None),
]


@pytest.mark.parametrize("header", BAD_HEADERS)
def test_api_refuses_bad_bearer(api: Api, header: str) -> None:
    invoice_id = api.create()["id"]
    before = api.get(f"{INVOICES}/{invoice_id}").content
    for method, path, body in CALLS:
        response = api.request(method, path.replace("{invoice}", f"{INVOICES}/{invoice_id}"),
                               body, headers=BAD_HEADERS[header](api), auth=False)
        assert_error(response, 401, "AUTHENTICATION_FAILURE")
    assert api.count() == 1
    assert api.get(f"{INVOICES}/{invoice_id}").content == before


def test_expired_token(timed: tuple[RunningEmulator, Api]) -> None:
    running, api = timed
    ttl = running.emulator.service.token_ttl
    invoice_id = api.create()["id"]
    running.emulator.clock.advance(seconds=ttl - 1)
    assert api.get(f"{INVOICES}/{invoice_id}").status_code == 200  # one second to go
    running.emulator.clock.advance(seconds=1)
    for method, path, body in CALLS:
        response = api.request(method, path.replace("{invoice}", f"{INVOICES}/{invoice_id}"),
                               body)
        assert_error(response, 401, "AUTHENTICATION_FAILURE")
    # A new token works again; the refused calls changed nothing.
    api.token = api.fetch_token()
    assert api.get(f"{INVOICES}/{invoice_id}").json()["status"] == "DRAFT"
    assert api.count() == 1


def test_token_of_a_fresh_fetch_outlives_the_old_one(timed: tuple[RunningEmulator, Api]) -> None:
    running, api = timed
    ttl = running.emulator.service.token_ttl
    old = api.token
    running.emulator.clock.advance(seconds=ttl // 2)
    api.token = api.fetch_token()
    running.emulator.clock.advance(seconds=ttl // 2 + 1)
    assert api.get(INVOICES).status_code == 200
    api.token = old
    assert_error(api.get(INVOICES), 401, "AUTHENTICATION_FAILURE")


# --- merchant isolation -----------------------------------------------------------------------


@pytest.fixture
def book(api: Api) -> dict[str, str]:
    """The merchant's: a draft, a partly paid and refunded invoice, its transactions, a template."""
    draft = api.create(number="ISO-DRAFT", memo="isolation memo")["id"]
    paid = api.sent(number="ISO-PAID", email="isolated@example.com")["id"]
    payment_id = api.pay(paid, "40.00").json()["payment_id"]
    response = api.post(f"{INVOICES}/{paid}/refunds", {"method": "CASH",
                                                        "amount": {"currency_code": "USD",
                                                                   "value": "5.00"}})
    assert response.status_code == 200, response.text
    template = api.post(TEMPLATES, {"name": "Mine"})
    assert template.status_code == 201, template.text
    return {"draft": draft, "paid": paid, "payment": payment_id,
            "refund": response.json()["refund_id"], "template": template.json()["id"]}


def state(api: Api, book: dict[str, str]) -> tuple[bytes, bytes, bytes, int]:
    return (api.get(f"{INVOICES}/{book['draft']}").content,
            api.get(f"{INVOICES}/{book['paid']}").content,
            api.get(f"{TEMPLATES}/{book['template']}").content, api.count())


FOREIGN_CALLS: list[tuple[str, str, Any]] = [
    ("GET", "/invoices/{draft}", None),
    ("PUT", "/invoices/{draft}", invoice_body(memo="hijacked")),
    ("DELETE", "/invoices/{draft}", None),
    ("POST", "/invoices/{draft}/send", {}),
    ("POST", "/invoices/{paid}/remind", {}),
    ("POST", "/invoices/{paid}/cancel", {}),
    ("POST", "/invoices/{paid}/payments", {"method": "CASH"}),
    ("DELETE", "/invoices/{paid}/payments/{payment}", None),
    ("POST", "/invoices/{paid}/refunds", {"method": "CASH"}),
    ("DELETE", "/invoices/{paid}/refunds/{refund}", None),
    ("POST", "/invoices/{paid}/generate-qr-code", {}),
    ("GET", "/templates/{template}", None),
    ("PUT", "/templates/{template}", {"name": "Hijacked"}),
    ("DELETE", "/templates/{template}", None),
]


@pytest.mark.parametrize(("method", "path", "body"), FOREIGN_CALLS,
                         ids=[f"{c[0]} {c[1]}" for c in FOREIGN_CALLS])
def test_another_merchants_ids_are_404(api: Api, other: Api, book: dict[str, str], method: str,
                                       path: str, body: Any) -> None:
    before = state(api, book)
    response = other.request(method, "/v2/invoicing" + path.format(**book), body)
    assert_error(response, 404, "RESOURCE_NOT_FOUND")
    assert state(api, book) == before
    assert other.count() == 0


def test_another_merchants_system_template_is_404(api: Api, other: Api) -> None:
    system = [t["id"] for t in api.get(TEMPLATES).json()["templates"] if t["standard_template"]]
    assert system
    for template_id in system:
        assert_error(other.get(f"{TEMPLATES}/{template_id}"), 404, "RESOURCE_NOT_FOUND")
    assert not set(system) & {t["id"] for t in other.get(TEMPLATES).json()["templates"]}


def test_another_merchants_template_cannot_seed_an_invoice(api: Api, other: Api,
                                                           book: dict[str, str]) -> None:
    body = invoice_body()
    body["configuration"] = {"template_id": book["template"]}
    response = other.post(INVOICES, body)
    assert_error(response, 400, "INVALID_REQUEST")
    assert response.json()["details"][0]["field"] == "/configuration/template_id"
    assert other.count() == 0


def test_search_never_crosses_merchants(api: Api, other: Api, book: dict[str, str]) -> None:
    mine = other.create(number="OTHER-1")["id"]
    assert ids(other) == {mine}
    assert total(other) == 1
    listed = other.get(INVOICES, params={"total_required": "true"}).json()
    assert [doc["id"] for doc in listed["items"]] == [mine] and listed["total_items"] == 1
    for filters in ({"invoice_number": "ISO-DRAFT"}, {"invoice_number": "ISO-PAID"},
                    {"memo": "isolation memo"}, {"recipient_email": "isolated@example.com"},
                    {"status": ["PARTIALLY_PAID"]}):
        assert total(api, **filters) == 1  # the owner finds it ...
        assert total(other, **filters) == 0  # ... the other merchant does not
    assert total(other, status=["DRAFT", "PARTIALLY_PAID"]) == 1  # only its own draft
    assert ids(api) == {book["draft"], book["paid"]}


def test_invoice_numbers_are_per_merchant(api: Api, other: Api, book: dict[str, str]) -> None:
    response = other.post(INVOICES, invoice_body(number="ISO-DRAFT"))
    assert response.status_code == 201, response.text
    assert api.invoice(book["draft"])["detail"]["invoice_number"] == "ISO-DRAFT"


# --- PayPal-Auth-Assertion --------------------------------------------------------------------


def acting_for(server: RunningEmulator, partner: Api, merchant: Api) -> dict[str, str]:
    payer_id = server.emulator.merchant(merchant.client_id).payer_id
    return {"PayPal-Auth-Assertion": assertion(partner.client_id, payer_id)}


def test_granted_partner_acts_for_the_merchant(server: RunningEmulator, api: Api,
                                               other: Api) -> None:
    partner = other
    server.emulator.grant(api.client_id, partner.client_id)
    headers = acting_for(server, partner, api)
    existing = api.create(number="M-1")["id"]
    own = partner.create(number="P-1")["id"]

    read = partner.get(f"{INVOICES}/{existing}", headers=headers)
    assert read.status_code == 200, read.text
    assert read.content == api.get(f"{INVOICES}/{existing}").content
    assert ids(partner, headers) == {existing}

    created = partner.post(INVOICES, invoice_body(number="M-2"), headers=headers)
    assert created.status_code == 201, created.text
    new_id = created.json()["id"]
    merchant = server.emulator.merchant(api.client_id)
    assert created.json()["invoicer"]["email_address"] == merchant.email
    assert ids(api) == {existing, new_id}          # landed in the merchant's book
    assert ids(partner) == {own}                   # not in the partner's own

    sent = partner.post(f"{INVOICES}/{new_id}/send", {}, headers=headers)
    assert sent.status_code == 200, sent.text
    assert api.invoice(new_id)["status"] == "SENT"
    assert api.invoice(new_id)["detail"]["metadata"]["last_sent_by"] == merchant.email


def test_partner_without_grant_is_403(server: RunningEmulator, api: Api, other: Api) -> None:
    existing = api.create()["id"]
    headers = acting_for(server, other, api)
    for method, path, body in [("GET", f"{INVOICES}/{existing}", None),
                               ("POST", INVOICES, invoice_body()),
                               ("POST", SEARCH, {}),
                               ("POST", f"{INVOICES}/{existing}/send", {}),
                               ("GET", TEMPLATES, None)]:
        assert_error(other.request(method, path, body, headers=headers), 403, "NOT_AUTHORIZED")
    assert ids(api) == {existing}
    assert api.invoice(existing)["status"] == "DRAFT"
    assert other.count() == 0


def test_grant_is_per_merchant(server: RunningEmulator, api: Api, other: Api,
                               other2: Api) -> None:
    """A partner granted by one merchant cannot act for another."""
    server.emulator.grant(api.client_id, other.client_id)
    assert other.get(INVOICES, headers=acting_for(server, other, api)).status_code == 200
    response = other.get(INVOICES, headers=acting_for(server, other, other2))
    assert_error(response, 403, "NOT_AUTHORIZED")


@pytest.mark.parametrize("both_granted", [False, True])
def test_issuer_must_be_the_caller(server: RunningEmulator, api: Api, other: Api, other2: Api,
                                   both_granted: bool) -> None:
    server.emulator.grant(api.client_id, other.client_id)
    if both_granted:
        server.emulator.grant(api.client_id, other2.client_id)
    api.create()
    payer_id = server.emulator.merchant(api.client_id).payer_id
    # other2 presents an assertion issued for `other`.
    headers = {"PayPal-Auth-Assertion": assertion(other.client_id, payer_id)}
    for method, path, body in [("POST", SEARCH, {}), ("POST", INVOICES, invoice_body())]:
        assert_error(other2.request(method, path, body, headers=headers), 403, "NOT_AUTHORIZED")
    assert api.count() == 1


GARBAGE = {
    "word": "garbage",
    "dots": "a.b.c",
    "header-only": b64url({"alg": "none"}) + ".",
    "payload-not-json": f"{b64url({'alg': 'none'})}.{b64url(b'not json')}.",
    "payload-not-base64": f"{b64url({'alg': 'none'})}.%%%%.",
    "payload-list": f"{b64url({'alg': 'none'})}.{b64url([1, 2])}.",
    "payload-null": f"{b64url({'alg': 'none'})}.{b64url(None)}.",
    "no-iss": f"{b64url({'alg': 'none'})}.{b64url({'payer_id': 'X'})}.",
    "payer-id-number": "{iss_number}",
    "unknown-payer": "{unknown_payer}",
}


@pytest.mark.parametrize("kind", GARBAGE)
def test_garbage_assertion_is_403(server: RunningEmulator, api: Api, other: Api,
                                  kind: str) -> None:
    server.emulator.grant(api.client_id, other.client_id)
    api.create()
    value = GARBAGE[kind].format(iss_number=assertion(other.client_id, 12345),
                                 unknown_payer=assertion(other.client_id, "NOSUCHPAYER"))
    headers = {"PayPal-Auth-Assertion": value}
    assert_error(other.post(SEARCH, {}, headers=headers), 403, "NOT_AUTHORIZED")
    assert_error(other.post(INVOICES, invoice_body(), headers=headers), 403, "NOT_AUTHORIZED")
    assert api.count() == 1 and other.count() == 0


def test_bad_token_is_401_even_with_a_valid_assertion(server: RunningEmulator, api: Api,
                                                      other: Api) -> None:
    server.emulator.grant(api.client_id, other.client_id)
    headers = {**acting_for(server, other, api), "Authorization": "Bearer A21AAnope"}
    assert_error(other.post(INVOICES, invoice_body(), headers=headers, auth=False), 401,
                 "AUTHENTICATION_FAILURE")
    assert api.count() == 0


def test_grant_is_one_way_and_own_books_stay_separate(server: RunningEmulator, api: Api,
                                                      other: Api) -> None:
    """The merchant's own token sees only its book, never the partner's."""
    partner = other
    server.emulator.grant(api.client_id, partner.client_id)
    partners_own = partner.create(number="PARTNER-OWN")["id"]
    for_merchant = partner.post(INVOICES, invoice_body(number="FOR-MERCHANT"),
                                headers=acting_for(server, partner, api)).json()["id"]
    merchants_own = api.create(number="MERCHANT-OWN")["id"]

    assert ids(api) == {for_merchant, merchants_own}
    assert_error(api.get(f"{INVOICES}/{partners_own}"), 404, "RESOURCE_NOT_FOUND")
    assert total(api, invoice_number="PARTNER-OWN") == 0
    # The merchant cannot use the grant backwards to reach the partner's book.
    assert_error(api.post(SEARCH, {}, headers=acting_for(server, api, partner)), 403,
                 "NOT_AUTHORIZED")
    # Without the header the partner is itself again.
    assert ids(partner) == {partners_own}
    assert_error(partner.get(f"{INVOICES}/{merchants_own}"), 404, "RESOURCE_NOT_FOUND")
