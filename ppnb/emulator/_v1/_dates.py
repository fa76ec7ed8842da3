"""v1 dates: ``yyyy-MM-dd z`` in, and out in the merchant's time zone.

Invoicing v1 writes dates with a zone abbreviation (``"2014-02-27 PST"``) and times as
``"2014-03-24 12:11:52 PDT"`` (seed 004 and PayPal's v1 spec, ``invoicing_v1.json`` in
paypal/paypal-rest-api-specifications). The zone is the merchant profile's; the emulator's
merchants have none, so v1 answers in PayPal's own, America/Los_Angeles, which is what every
sample shows (PST in winter, PDT in summer). The book itself keeps v2's ISO dates and UTC
times: these functions only translate.
"""

from __future__ import annotations

import datetime as dt
import re
from zoneinfo import ZoneInfo

from .._clock import isoformat

ZONE = ZoneInfo("America/Los_Angeles")
#: ``2014-02-27``, optionally a time, optionally a zone (an abbreviation, ``Z`` or an offset).
_V1_DATE = re.compile(
    r"(\d{4}-\d{2}-\d{2})(?:[ T]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?)?"
    r"(?:\s*(?:[A-Za-z]{1,5}|[+-]\d{2}:?\d{2}))?"
)
FORMAT = "yyyy-MM-dd z, e.g. 2014-02-27 PST"


def parse(value: object) -> str | None:
    """The ISO date a v1 date or date-time names, as written (``None`` if it is not one).

    ``"2014-07-06 03:30:00 PST"`` → ``"2014-07-06"``: the day in the zone the caller wrote it
    in, which is the day v1 records.
    """
    if not isinstance(value, str):
        return None
    match = _V1_DATE.fullmatch(value.strip())
    if match is None:
        return None
    try:
        return dt.date.fromisoformat(match.group(1)).isoformat()
    except ValueError:
        return None


def render_date(iso: str | None) -> str | None:
    """``"2014-04-13"`` → ``"2014-04-13 PDT"`` (the zone's abbreviation at noon that day)."""
    if not iso:
        return None
    day = dt.date.fromisoformat(iso)
    noon = dt.datetime(day.year, day.month, day.day, 12, tzinfo=ZONE)
    return f"{iso} {noon.tzname()}"


def render_time(stamp: str | None) -> str | None:
    """A stored UTC time (``2014-03-24T19:11:52Z``) as v1 shows it: ``2014-03-24 12:11:52
    PDT``."""
    if not stamp:
        return None
    local = dt.datetime.fromisoformat(stamp.replace("Z", "+00:00")).astimezone(ZONE)
    return local.strftime("%Y-%m-%d %H:%M:%S ") + (local.tzname() or "")


def day_bounds(iso: str) -> tuple[str, str]:
    """The first and last second of a day in the merchant's zone, as UTC RFC 3339 times (for
    v1's creation-date filters, which name days)."""
    day = dt.date.fromisoformat(iso)
    start = dt.datetime(day.year, day.month, day.day, tzinfo=ZONE)
    end = start + dt.timedelta(days=1, seconds=-1)
    return isoformat(start), isoformat(end)
