"""A dunning policy: ordered reminder levels and who is left out, readable from TOML."""

from __future__ import annotations

import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .._errors import PPNBError
from ..limits import EMAIL
from ..money import MoneyError, parse_amount, to_minor

__all__ = ["EXAMPLE", "DunningError", "Level", "Policy"]

#: Policy and level names: they become part of journal file names (no ``-``: it separates
#: the parts of a job id).
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.]{0,29}$")
_LEVEL_KEYS = {"name", "days", "reminders", "every", "subject", "note", "send_to_invoicer",
               "additional_recipients"}
_POLICY_KEYS = {"name", "levels", "exclude_disputed", "exclude_customers", "min_amount",
                "min_days_between"}

#: A policy to start from: reminders 3, 10 and 20 days past due, then a final notice at 30
#: days that also goes to the merchant. PayPal ignores the subject and note of reminders
#: (it sends its own text), so the levels differ in timing and in who gets a copy.
EXAMPLE = """\
name = "standard"
exclude_disputed = true        # memo mentions a dispute: leave it to a person
exclude_customers = []         # recipient emails never chased by this policy
min_days_between = 3           # at least this many days between two reminders

[min_amount]                   # do not chase less than this (per currency; others: any)
USD = "20.00"
EUR = "20.00"
GBP = "20.00"
JPY = "3000"

[[levels]]
name = "reminder1"
days = 3                       # days past due
note = "A friendly reminder: this invoice is now past due."

[[levels]]
name = "reminder2"
days = 10
note = "Second reminder: this invoice is 10 days past due."

[[levels]]
name = "reminder3"
days = 20
note = "Third reminder: please pay or tell us if something is wrong."

[[levels]]
name = "final"
days = 30
note = "Final notice before we follow up in person."
send_to_invoicer = true        # a copy to the merchant: escalation is visible
"""


class DunningError(PPNBError, ValueError):
    """A policy that cannot be used as written, or a run that cannot go ahead (the message
    says which key or what is wrong)."""


@dataclass(frozen=True)
class Level:
    """One dunning level.

    Attributes
    ----------
    name
        Letters, digits, ``_`` or ``.`` (at most 30): it names the level's journals.
    days
        Days past due from which the level is due (negative: before the due date).
    reminders
        How many reminders the level sends (1 to 5), on different days, ``every`` days apart,
        until the next level takes over.
    every
        Days between the level's reminders (when ``reminders`` > 1).
    subject, note, send_to_invoicer, additional_recipients
        The reminder's notification. PayPal ignores ``subject`` and ``note`` (it sends its
        own text; ``../shared/paypal/OBSERVED.md``); ``send_to_invoicer`` (a copy to the
        merchant) and ``additional_recipients`` (CC) are how a level escalates. Fixed once
        the level has run: its journal records them.
    """

    name: str
    days: int
    reminders: int = 1
    every: int = 7
    subject: str | None = None
    note: str | None = None
    send_to_invoicer: bool = False
    additional_recipients: tuple[str, ...] = ()

    def notification(self) -> dict[str, Any]:
        """The reminder options passed to :func:`ppnb.bulk` (only those set)."""
        body: dict[str, Any] = {"subject": self.subject, "note": self.note}
        if self.send_to_invoicer:
            body["send_to_invoicer"] = True
        if self.additional_recipients:
            body["additional_recipients"] = list(self.additional_recipients)
        return {k: v for k, v in body.items() if v is not None}


@dataclass(frozen=True)
class Policy:
    """A dunning policy: ordered levels, exclusions, and the rules between reminders.

    Read one with :meth:`from_toml` (see :data:`EXAMPLE`) or :meth:`from_dict`.

    Attributes
    ----------
    name
        Names the policy's journals (letters, digits, ``_``, ``.``).
    levels
        By increasing ``days``.
    exclude_disputed
        Leave out invoices whose memo mentions a dispute (:func:`ppnb.analysis.disputed`).
    exclude_customers
        Recipient emails never chased (compared without case).
    min_amount
        Currency → the smallest outstanding amount chased, as exact minor units; currencies
        not listed have no minimum (amounts in different currencies are never compared).
    min_days_between
        At least this many days between two reminders of the policy to one invoice.
    """

    name: str
    levels: tuple[Level, ...]
    exclude_disputed: bool = True
    exclude_customers: frozenset[str] = frozenset()
    min_amount: Mapping[str, int] = field(default_factory=dict)
    min_days_between: int = 1

    def __post_init__(self) -> None:
        _check_name(self.name, "name")
        if not self.levels:
            raise DunningError("levels: give at least one level")
        names = [level.name for level in self.levels]
        if len(set(names)) != len(names):
            raise DunningError(f"levels: names must differ ({', '.join(names)})")
        days = [level.days for level in self.levels]
        if days != sorted(days) or len(set(days)) != len(days):
            raise DunningError(f"levels: days past due must increase, got {days}")
        _check_int(self.min_days_between, "min_days_between", 1, 365)

    def job_id(self, level: Level, reminder: int, attempt: int) -> str:
        """The bulk job of one reminder of a level (its ``attempt``-th try: a reminder PayPal
        refused is tried again in a new job, since a request id replays its answer)."""
        return f"dunning-{self.name}-{level.name}-{reminder}-{attempt}"

    @classmethod
    def from_toml(cls, path: str | Path) -> Policy:
        """Read a policy from a TOML file (see :data:`EXAMPLE`).

        Raises
        ------
        DunningError
            For an unreadable file, bad TOML or a bad policy, naming the file and key.
        """
        source = Path(path)
        try:
            data = tomllib.loads(source.read_text(encoding="utf-8"))
        except OSError as exc:
            raise DunningError(f"cannot read policy {source}: {exc.strerror or exc}"
                               ) from None
        except tomllib.TOMLDecodeError as exc:
            raise DunningError(f"policy {source} is not valid TOML: {exc}") from None
        try:
            return cls.from_dict(data)
        except DunningError as exc:
            raise DunningError(f"policy {source}: {exc}") from None

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Policy:
        """A policy from a mapping shaped like the TOML file."""
        _no_unknown(data, _POLICY_KEYS, "")
        levels = data.get("levels")
        if not isinstance(levels, list):
            raise DunningError("levels: give a list of levels ([[levels]] tables in TOML)")
        min_amount = data.get("min_amount", {})
        if not isinstance(min_amount, Mapping):
            raise DunningError("min_amount: give a table of currency = \"amount\"")
        customers = data.get("exclude_customers", [])
        if not isinstance(customers, list) or not all(isinstance(c, str) for c in customers):
            raise DunningError("exclude_customers: give a list of email addresses")
        return cls(
            name=data.get("name", ""),
            levels=tuple(_level(item, i) for i, item in enumerate(levels)),
            exclude_disputed=_bool(data.get("exclude_disputed", True), "exclude_disputed"),
            exclude_customers=frozenset(c.strip().lower() for c in customers),
            min_amount={str(c): _minimum(c, v) for c, v in min_amount.items()},
            min_days_between=data.get("min_days_between", 1),
        )


def _level(item: Any, index: int) -> Level:
    where = f"levels[{index}]"
    if not isinstance(item, Mapping):
        raise DunningError(f"{where}: give a table with name and days")
    _no_unknown(item, _LEVEL_KEYS, where + ".")
    for key in ("name", "days"):
        if key not in item:
            raise DunningError(f"{where}: {key} is required")
    _check_name(item["name"], f"{where}.name")
    for key in ("subject", "note"):
        if key in item and not isinstance(item[key], str):
            raise DunningError(f"{where}.{key}: give text")
    recipients = item.get("additional_recipients", [])
    if not isinstance(recipients, list) or not all(
            isinstance(r, str) and EMAIL.fullmatch(r) for r in recipients):
        raise DunningError(f"{where}.additional_recipients: give a list of email addresses")
    return Level(
        name=item["name"],
        days=_check_int(item["days"], f"{where}.days", -90, 3650),
        reminders=_check_int(item.get("reminders", 1), f"{where}.reminders", 1, 5),
        every=_check_int(item.get("every", 7), f"{where}.every", 1, 365),
        subject=item.get("subject"), note=item.get("note"),
        send_to_invoicer=_bool(item.get("send_to_invoicer", False),
                               f"{where}.send_to_invoicer"),
        additional_recipients=tuple(recipients))


def _minimum(currency: Any, value: Any) -> int:
    where = f"min_amount.{currency}"
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise DunningError(f"{where}: give the amount as text, e.g. \"20.00\", not {value!r}")
    try:
        amount = parse_amount(str(value), str(currency))
        if amount < 0:
            raise DunningError(f"{where}: {value!r} is negative")
        return to_minor(amount, str(currency))
    except MoneyError as exc:
        raise DunningError(f"{where}: {exc}") from None


def _check_name(value: Any, where: str) -> str:
    if not isinstance(value, str) or not _NAME.match(value):
        raise DunningError(f"{where}: {value!r} must be 1-30 letters, digits, '_' or '.' "
                           "(it names journal files)")
    return value


def _check_int(value: Any, where: str, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise DunningError(f"{where}: {value!r} is not a whole number from {low} to {high}")
    return value


def _bool(value: Any, where: str) -> bool:
    if not isinstance(value, bool):
        raise DunningError(f"{where}: give true or false, not {value!r}")
    return value


def _no_unknown(data: Mapping[str, Any], known: set[str], where: str) -> None:
    unknown = sorted(set(data) - known)
    if unknown:
        raise DunningError(f"{where}{unknown[0]}: unknown key (known: "
                           f"{', '.join(sorted(known))})")
