"""OAuth2 client credentials as an httpx auth flow, with a token shared across threads, and
the assertion a partner sends to act for a merchant."""

from __future__ import annotations

import base64
import logging
import threading
import time
from collections.abc import Callable, Generator
from typing import Any

import httpx
import orjson

from ._errors import error_for

__all__ = ["ClientCredentials", "auth_assertion"]

log = logging.getLogger("ppnb.client")


class ClientCredentials(httpx.Auth):
    """Bearer tokens from ``POST /v1/oauth2/token``, fetched once and reused.

    The token is refreshed ``margin`` seconds before it expires, and fetched anew once when
    the API answers 401 (the server's clock may run ahead of ours, as the emulator's can).
    Neither the secret nor the token appears in ``repr`` or in any log record.

    Parameters
    ----------
    client_id, client_secret
        The REST app's credentials.
    margin
        Seconds before expiry at which a token counts as stale.
    clock
        Monotonic seconds (injectable for tests).
    """

    requires_response_body = True

    def __init__(self, client_id: str, client_secret: str, *, margin: float = 300,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.client_id = client_id
        self._secret = client_secret
        self._margin = margin
        self._clock = clock
        self._lock = threading.Lock()
        self._token: str | None = None
        self._expires = 0.0
        self.fetches = 0  # how many tokens were requested (tests and diagnostics read it)

    def __repr__(self) -> str:
        return f"ClientCredentials(client_id={self.client_id!r}, client_secret='***')"

    def _token_request(self, request: httpx.Request) -> httpx.Request:
        url = request.url.copy_with(path="/v1/oauth2/token", query=None)
        basic = base64.b64encode(f"{self.client_id}:{self._secret}".encode()).decode()
        return httpx.Request(
            "POST", url, content=b"grant_type=client_credentials",
            headers={
                "Accept": "application/json",
                "Content-Type": "application/x-www-form-urlencoded",
                "Authorization": f"Basic {basic}",
            },
        )

    def _store(self, response: httpx.Response) -> str:
        if response.status_code != 200:
            try:
                body = response.json()
            except ValueError:
                body = {}
            raise error_for(response.status_code, body if isinstance(body, dict) else {},
                            method="POST", path="/v1/oauth2/token",
                            debug_id=response.headers.get("paypal-debug-id"))
        payload = response.json()
        self._token = payload["access_token"]
        self._expires = self._clock() + float(payload.get("expires_in", 0))
        self.fetches += 1
        log.debug("fetched an access token for %s, valid %ss", self.client_id,
                  payload.get("expires_in"))
        return self._token

    def _fresh(self) -> bool:
        return self._token is not None and self._clock() < self._expires - self._margin

    def auth_flow(
        self, request: httpx.Request
    ) -> Generator[httpx.Request, httpx.Response, None]:
        with self._lock:
            if not self._fresh():
                token = self._store((yield self._token_request(request)))
            else:
                token = self._token
        assert token is not None
        request.headers["Authorization"] = f"Bearer {token}"
        response = yield request
        if response.status_code != 401:
            return
        with self._lock:
            if self._token == token:  # nobody refreshed it meanwhile
                self._token = None
                token = self._store((yield self._token_request(request)))
            else:
                token = self._token
        request.headers["Authorization"] = f"Bearer {token}"
        yield request

    def token(self, transport_request: Callable[[httpx.Request], httpx.Response],
              base_url: httpx.URL) -> dict:
        """Fetch a new token now (the explicit token call); returns PayPal's response body."""
        with self._lock:
            response = transport_request(self._token_request(httpx.Request("GET", base_url)))
            self._store(response)
            return response.json()


def auth_assertion(client_id: str, *, payer_id: str | None = None,
                   email: str | None = None) -> str:
    """PayPal-Auth-Assertion for a partner acting for a merchant (an unsigned JWT)."""
    if not (payer_id or email):
        raise ValueError("an auth assertion needs the merchant's payer_id or email")
    claims = {"iss": client_id, **({"payer_id": payer_id} if payer_id else {"email": email})}

    def part(value: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(orjson.dumps(value)).rstrip(b"=").decode()

    return f"{part({'alg': 'none'})}.{part(claims)}."
