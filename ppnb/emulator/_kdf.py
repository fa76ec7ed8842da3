"""Merchant client secrets at rest: salted scrypt hashes, compared in constant time.

A stored hash reads ``scrypt$N$r$p$SALT$DIGEST`` (salt and digest in URL-safe base64), so its
cost parameters travel with it and can be raised later without breaking older rows. Books
made before salted hashes keep an unsalted SHA-256 (64 hex digits): :func:`verify_secret`
still accepts those, and the service replaces one with a salted hash at its first successful
login (:func:`is_legacy`).

scrypt is slow on purpose (about 50-100 ms here), which would make every token request pay
for it. :class:`SecretCheck` remembers, in this process's memory only, a keyed digest of
each secret that matched a given stored hash, so a client's later token requests cost one
HMAC; a wrong secret always pays the full scrypt.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import threading

__all__ = ["SCRYPT_N", "SCRYPT_P", "SCRYPT_R", "SecretCheck", "hash_secret", "is_legacy",
           "verify_secret"]

#: scrypt's cost parameters (the scrypt paper's interactive-login setting: 16 MiB, one lane).
SCRYPT_N, SCRYPT_R, SCRYPT_P = 2**14, 8, 1
_MAXMEM = 64 * 1024 * 1024
_PREFIX = "scrypt$"


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def hash_secret(secret: str) -> str:
    """A salted scrypt hash of ``secret`` (a fresh 16-byte salt each time)."""
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(secret.encode(), salt=salt, n=SCRYPT_N, r=SCRYPT_R, p=SCRYPT_P,
                            maxmem=_MAXMEM, dklen=32)
    return f"{_PREFIX}{SCRYPT_N}${SCRYPT_R}${SCRYPT_P}${_b64(salt)}${_b64(digest)}"


def is_legacy(stored: str) -> bool:
    """Whether ``stored`` is an older book's unsalted SHA-256, to be replaced."""
    return not stored.startswith(_PREFIX)


def verify_secret(secret: str, stored: str) -> bool:
    """Whether ``secret`` matches ``stored`` (a hash of :func:`hash_secret`, or an older
    book's SHA-256 hex digest); compared with :func:`hmac.compare_digest`."""
    if is_legacy(stored):
        return hmac.compare_digest(stored, hashlib.sha256(secret.encode()).hexdigest())
    try:
        n, r, p, salt, digest = stored[len(_PREFIX):].split("$")
        expected = _unb64(digest)
        got = hashlib.scrypt(secret.encode(), salt=_unb64(salt), n=int(n), r=int(r),
                             p=int(p), maxmem=_MAXMEM, dklen=len(expected))
    except ValueError:  # a damaged row matches nothing
        return False
    return hmac.compare_digest(got, expected)


class SecretCheck:
    """:func:`verify_secret` that remembers, per client id and stored hash, a keyed digest
    of the secret that matched (in memory, keyed by a random per-process key)."""

    def __init__(self) -> None:
        self._key = secrets.token_bytes(32)
        self._lock = threading.Lock()
        self._passed: dict[tuple[str, str], bytes] = {}

    def _digest(self, secret: str) -> bytes:
        return hmac.digest(self._key, secret.encode(), "sha256")

    def remember(self, client_id: str, secret: str, stored: str) -> None:
        """Note that ``secret`` is the one ``stored`` hashes (it was just registered)."""
        with self._lock:
            if len(self._passed) > 10_000:
                self._passed.clear()
            self._passed[(client_id, stored)] = self._digest(secret)

    def check(self, client_id: str, secret: str, stored: str) -> bool:
        """Whether ``secret`` matches ``stored``, the hash kept for ``client_id``."""
        with self._lock:
            known = self._passed.get((client_id, stored))
        if known is not None and hmac.compare_digest(known, self._digest(secret)):
            return True
        if not verify_secret(secret, stored):
            return False
        self.remember(client_id, secret, stored)
        return True
