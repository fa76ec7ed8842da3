"""Merchants and auth: REST app credentials, OAuth2 access tokens, and partner grants.

* A merchant registers with a client id and secret; the secret is kept only as a salted
  scrypt hash (:mod:`._kdf`; an older book's unsalted SHA-256 hash is salted at the
  merchant's next login). Every new merchant gets PayPal's system templates
  (:mod:`._templates`).
* ``POST /v1/oauth2/token`` (client credentials) issues a random access token valid for
  :data:`TOKEN_TTL` seconds by the emulator's clock; only its SHA-256 digest is stored.
  Every API call needs a live one: 401 otherwise.
* A partner app acts for a merchant with ``PayPal-Auth-Assertion`` (an unsigned JWT whose
  ``iss`` is the partner's client id and ``payer_id`` or ``email`` the merchant's) only if
  the merchant granted it; otherwise 403.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
from typing import Any

import orjson

from ._book import Book, Merchant
from ._clock import isoformat
from ._errors import error, not_found
from ._kdf import SecretCheck, hash_secret, is_legacy
from ._templates import Templates

#: Lifetime of access tokens in seconds (PayPal's ``expires_in``).
TOKEN_TTL = 32400
SCOPE = (
    "https://uri.paypal.com/services/invoicing "
    "https://uri.paypal.com/services/invoicing/invoices/read "
    "https://uri.paypal.com/services/invoicing/invoices/readwrite"
)
_MERCHANT = "SELECT payer_id, client_id, email, business_name FROM merchants"


def _sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


class Auth:
    """Merchant accounts, their tokens and their grants to partner apps.

    Parameters
    ----------
    book
        Where merchants, tokens and grants are kept; its clock says when tokens expire.
    templates
        Gives each new merchant PayPal's system templates.
    token_ttl
        Lifetime of access tokens in seconds.
    """

    def __init__(self, book: Book, templates: Templates, token_ttl: int = TOKEN_TTL) -> None:
        self.book = book
        self.templates = templates
        self.token_ttl = token_ttl
        # Tokens and merchants never change once issued, so lookups can be remembered.
        self._token_cache: dict[str, tuple[str, float]] = {}
        self._merchant_cache: dict[str, Merchant] = {}
        self._secrets = SecretCheck()  # salted hashes at rest; see _kdf

    def add_merchant(
        self,
        client_id: str,
        secret: str,
        *,
        email: str | None = None,
        business_name: str | None = None,
    ) -> Merchant:
        """Register a merchant and its app credentials (idempotent for the same client id)."""
        if not client_id or not secret or ":" in client_id:
            raise ValueError("a merchant needs a client id without ':' and a non-empty secret")
        stored = hash_secret(secret)
        self._secrets.remember(client_id, secret, stored)
        store = self.book.store
        with store.transaction():
            found = store.one(f"{_MERCHANT} WHERE client_id = ?", (client_id,))
            if found:
                store.execute(
                    "UPDATE merchants SET secret_hash = ? WHERE client_id = ?",
                    (stored, client_id),
                )
                return Merchant(*found)
            merchant = Merchant(
                self.book.ids.payer_id(),
                client_id,
                email or f"{client_id.lower()}@merchant.example.com",
                business_name or f"{client_id} Ltd",
            )
            store.execute(
                "INSERT INTO merchants VALUES (?, ?, ?, ?, ?, NULL)",
                (merchant.payer_id, client_id, stored, merchant.email,
                 merchant.business_name),
            )
            self.templates.add_system_templates(merchant)
        return merchant

    def merchants(self) -> list[Merchant]:
        """Every registered merchant."""
        return [Merchant(*r) for r in self.book.store.all(f"{_MERCHANT} ORDER BY rowid")]

    def merchant_by_client(self, client_id: str) -> Merchant | None:
        """The merchant whose app has ``client_id``."""
        if client_id in self._merchant_cache:
            return self._merchant_cache[client_id]
        row = self.book.store.one(f"{_MERCHANT} WHERE client_id = ?", (client_id,))
        if row is None:
            return None
        self._merchant_cache[client_id] = Merchant(*row)
        return self._merchant_cache[client_id]

    def owner(self, invoice_id: str) -> Merchant:
        """The merchant whose book holds the invoice (404 if none does)."""
        row = self.book.store.one("SELECT merchant FROM invoices WHERE id = ?", (invoice_id,))
        owner = row and next((m for m in self.merchants() if m.payer_id == row[0]), None)
        if owner is None:
            raise not_found("invoice", invoice_id)
        return owner

    def grant(self, merchant: Merchant, partner_client_id: str) -> None:
        """Let the partner app ``partner_client_id`` act for ``merchant``."""
        with self.book.store.transaction():
            self.book.store.execute(
                "INSERT OR IGNORE INTO grants VALUES (?, ?)", (merchant.payer_id, partner_client_id)
            )

    def revoke(self, payer_id: str, partner_client_id: str) -> None:
        """Withdraw a merchant's grant: the partner's calls for it get 403 from now on."""
        with self.book.store.transaction():
            self.book.store.execute(
                "DELETE FROM grants WHERE payer_id = ? AND partner_client_id = ?",
                (payer_id, partner_client_id))

    def issue_token(self, client_id: str, secret: str) -> dict[str, Any] | None:
        """An access token for valid credentials, or None."""
        store, clock = self.book.store, self.book.clock
        row = store.one("SELECT secret_hash FROM merchants WHERE client_id = ?", (client_id,))
        if row is None or not self._secrets.check(client_id, secret, row[0]):
            return None
        token = "A21AA" + secrets.token_urlsafe(64)
        expires = clock.now().timestamp() + self.token_ttl
        with store.transaction():
            if is_legacy(row[0]):  # an older book's unsalted hash: salt it now
                store.execute("UPDATE merchants SET secret_hash = ? WHERE client_id = ? "
                              "AND secret_hash = ?", (hash_secret(secret), client_id, row[0]))
            store.execute("INSERT INTO tokens VALUES (?, ?, ?)", (_sha(token), client_id,
                                                                  expires))
            store.execute("DELETE FROM tokens WHERE expires_at < ?", (clock.now().timestamp(),))
        return {
            "scope": SCOPE,
            "access_token": token,
            "token_type": "Bearer",
            "app_id": "APP-" + _sha(client_id)[:17].upper(),
            "expires_in": self.token_ttl,
            "nonce": f"{isoformat(clock.now())}{secrets.token_urlsafe(24)}",
        }

    def authenticate(self, token: str | None) -> Merchant:
        """The merchant app a bearer token belongs to; 401 if missing, unknown or expired."""
        if not token:
            raise error(401, "MISSING_AUTHORIZATION", "No Bearer access token was sent.",
                        "Authorization", location="header")
        digest = _sha(token)
        row = self._token_cache.get(digest) or self.book.store.one(
            "SELECT client_id, expires_at FROM tokens WHERE token_sha256 = ?", (digest,)
        )
        if row is None:
            raise error(401, "INVALID_TOKEN", "The access token is not valid.", "Authorization",
                        location="header")
        if row[1] <= self.book.clock.now().timestamp():
            raise error(401, "TOKEN_EXPIRED", "The access token has expired; request a new one.",
                        "Authorization", location="header")
        if len(self._token_cache) > 10_000:
            self._token_cache.clear()
        self._token_cache[digest] = row
        merchant = self.merchant_by_client(row[0])
        assert merchant is not None
        return merchant

    def act_as(self, caller: Merchant, assertion: str | None) -> Merchant:
        """Resolve ``PayPal-Auth-Assertion``: the merchant a partner acts for, if granted."""
        if not assertion:
            return caller
        denied = error(403, "PERMISSION_DENIED",
                       "The partner is not authorized to act for this merchant.",
                       "PayPal-Auth-Assertion", location="header")
        try:
            payload_part = assertion.split(".")[1]
            claims = orjson.loads(base64.urlsafe_b64decode(payload_part + "=" * (-len(
                payload_part) % 4)))
            issuer = claims["iss"]
            subject = claims.get("payer_id") or claims.get("email")
        except (IndexError, KeyError, ValueError, TypeError, orjson.JSONDecodeError):
            raise error(403, "INVALID_AUTH_ASSERTION",
                        "PayPal-Auth-Assertion must be a JWT with iss and payer_id (or email).",
                        "PayPal-Auth-Assertion", location="header") from None
        if issuer != caller.client_id or not isinstance(subject, str):
            raise denied
        row = self.book.store.one(
            "SELECT m.payer_id, m.client_id, m.email, m.business_name FROM merchants m "
            "JOIN grants g ON g.payer_id = m.payer_id "
            "WHERE (m.payer_id = ? OR m.email = ?) AND g.partner_client_id = ?",
            (subject, subject, caller.client_id),
        )
        if row is None:
            raise denied
        return Merchant(*row)
