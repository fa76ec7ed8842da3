"""Identifiers in PayPal's shapes (``INV2-XXXX-XXXX-XXXX-XXXX``, ``TEMP-...``, ``EXTR-...``)."""

from __future__ import annotations

import random
import re
import secrets

_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
_LAST_DIGITS = re.compile(r"(\d+)(?!.*\d)")


class IdFactory:
    """Makes identifiers; deterministic when seeded, so seeded demos repeat exactly."""

    def __init__(self, seed: int | None = None) -> None:
        self._rng = random.Random(seed if seed is not None else secrets.randbits(64))

    def _chars(self, n: int) -> str:
        bits = self._rng.getrandbits(5 * n)  # 32 symbols: 5 bits each, one draw per id
        return "".join(_ALPHABET[(bits >> (5 * i)) & 31] for i in range(n))

    def invoice(self) -> str:
        return "INV2-" + "-".join(self._chars(4) for _ in range(4))

    def template(self) -> str:
        return "TEMP-" + self._chars(17)

    def external_transaction(self) -> str:
        return "EXTR-" + self._chars(17)

    def paypal_transaction(self) -> str:
        return self._chars(17)

    def payer_id(self) -> str:
        return self._chars(13)

    @staticmethod
    def debug_id() -> str:
        """A fresh debug id; never drawn from the seeded stream, so errors don't shift ids."""
        return secrets.token_hex(7)[:13]

    def secret(self, n: int = 40) -> str:
        return secrets.token_urlsafe(n)[:n]


def fresh(n: int) -> str:
    """``n`` random symbols of the id alphabet, never drawn from a seeded stream (webhook and
    event ids must not shift the ids of a seeded demo)."""
    return "".join(secrets.choice(_ALPHABET) for _ in range(n))


def next_number(last: str | None) -> str:
    """The invoice number after ``last``: the final run of digits + 1, width kept.

    ``INVOICE-1234`` → ``INVOICE-1235``; ``A-0099-X`` → ``A-0100-X``; no digits → ``last-1``;
    nothing yet → ``0001``.
    """
    if not last:
        return "0001"
    match = _LAST_DIGITS.search(last)
    if match is None:
        return f"{last}-1"
    digits = match.group(1)
    bumped = str(int(digits) + 1).zfill(len(digits))
    return last[: match.start()] + bumped + last[match.end() :]
