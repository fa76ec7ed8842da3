"""The pager's keyword parameters: search filters and paging options, each defined once.

:func:`search_data` defines the filters (and turns them into PayPal's ``search_data``);
:class:`Options` defines how a pull pages. :func:`pager_parameters` gives a pager function
both as explicit keyword-only parameters: in its signature (what Shift-Tab, ``help`` and
IPython's completion show), in its docstring and in the check of every call.
"""

from __future__ import annotations

import datetime as dt
import functools
import inspect
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, ParamSpec, TypeVar

__all__ = ["MAX_PAGES", "DateLike", "Options", "Range", "pager_parameters", "search_data"]

#: PayPal serves pages 1 to 1000 of a search.
MAX_PAGES = 1000

DateLike = dt.date | dt.datetime | str
Range = tuple[DateLike | None, DateLike | None]

FIRST_DAY, LAST_DAY = dt.date(1970, 1, 1), dt.date(2199, 12, 31)

#: The text filters: keyword → PayPal's ``search_data`` field (whole-value matches).
TEXT_FILTERS = {
    "invoice_number": "invoice_number",
    "recipient_email": "recipient_email",
    "recipient_first_name": "recipient_first_name",
    "recipient_last_name": "recipient_last_name",
    "recipient_business_name": "recipient_business_name",
    "reference": "reference",
    "memo": "memo",
    "currency": "currency_code",
}

#: The filters' numpydoc entries, shared by every function that takes them.
FILTER_DOCS = """\
status
    One status or several (at most 5, PayPal's limit), e.g. ``"UNPAID"`` or
    ``["SENT", "UNPAID", "PARTIALLY_PAID"]``.
invoice_date, due_date
    ``(start, end)`` dates (``date`` or ISO strings), inclusive; either end may be None.
payment_date, created
    ``(start, end)`` of payment or creation: dates cover whole days (UTC), datetimes are
    exact; either end may be None.
total
    ``(low, high)`` invoice totals as Decimal or strings, in ``currency`` (required then).
currency
    A three-letter currency code, e.g. ``"USD"``.
invoice_number, reference, memo
    The invoice number, reference (e.g. a PO number) or private memo: whole-value matches.
recipient_email, recipient_first_name, recipient_last_name, recipient_business_name
    The primary recipient's billing email, names or business name: whole-value matches.
archived
    Only archived (True) or only unarchived (False) invoices; None (the default) both."""


def _day(value: DateLike) -> dt.date:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    return dt.date.fromisoformat(str(value)[:10])


def _moment(value: DateLike, end: bool) -> str:
    if isinstance(value, dt.datetime):
        moment = value if value.tzinfo else value.replace(tzinfo=dt.UTC)
    else:
        day = _day(value)
        moment = dt.datetime.combine(day, dt.time.max if end else dt.time.min, dt.UTC)
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def search_data(
    *,
    status: str | Iterable[str] | None = None,
    invoice_date: Range | None = None,
    due_date: Range | None = None,
    payment_date: Range | None = None,
    created: Range | None = None,
    total: tuple[Decimal | str, Decimal | str] | None = None,
    currency: str | None = None,
    invoice_number: str | None = None,
    reference: str | None = None,
    memo: str | None = None,
    recipient_email: str | None = None,
    recipient_first_name: str | None = None,
    recipient_last_name: str | None = None,
    recipient_business_name: str | None = None,
    archived: bool | None = None,
    **unknown: Any,
) -> dict[str, Any]:
    """Translate Pythonic filters into PayPal's ``search_data``.

    Parameters
    ----------
    %(filters)s

    Raises
    ------
    TypeError
        For a filter PayPal does not have (the message lists those it has).
    ValueError
        For a malformed value (e.g. ``total`` without ``currency``).
    """
    if unknown:
        raise TypeError(f"unknown filter(s): {', '.join(sorted(unknown))}; known: "
                        f"{', '.join(FILTERS)}")
    text = {"invoice_number": invoice_number, "recipient_email": recipient_email,
            "recipient_first_name": recipient_first_name,
            "recipient_last_name": recipient_last_name,
            "recipient_business_name": recipient_business_name, "reference": reference,
            "memo": memo, "currency": currency}
    data: dict[str, Any] = {TEXT_FILTERS[k]: v for k, v in text.items() if v is not None}
    if status is not None:
        data["status"] = [status] if isinstance(status, str) else list(status)
        if not 1 <= len(data["status"]) <= 5:
            raise ValueError("status takes 1 to 5 statuses")
    for key, value in (("invoice_date_range", invoice_date), ("due_date_range", due_date)):
        if value is not None:
            start, end = value
            data[key] = {"start": _day(start or FIRST_DAY).isoformat(),
                         "end": _day(end or LAST_DAY).isoformat()}
    for key, value in (("payment_date_range", payment_date), ("creation_date_range", created)):
        if value is not None:
            start, end = value
            data[key] = {"start": _moment(start or FIRST_DAY, False),
                         "end": _moment(end or LAST_DAY, True)}
    if total is not None:
        if "currency_code" not in data:
            raise ValueError("a total range needs currency=")
        low, high = (str(Decimal(str(v))) for v in total)
        data["total_amount_range"] = {
            "lower_amount": {"currency_code": data["currency_code"], "value": low},
            "upper_amount": {"currency_code": data["currency_code"], "value": high}}
    if archived is not None:
        data["archived"] = archived
    return data


@dataclass(frozen=True, kw_only=True)
class Options:
    """How a pull pages: the options every pager function takes besides the filters.

    Attributes
    ----------
    %(options)s

    Raises
    ------
    ValueError
        For a ``page_size`` outside 1 to 100 or a ``concurrency`` below 1.
    """

    page_size: int = 100
    concurrency: int = 6
    progress: bool | None = None
    max_pages: int = MAX_PAGES
    verify: bool = True

    def __post_init__(self) -> None:
        if not 1 <= self.page_size <= 100:
            raise ValueError(f"page_size is 1 to 100, not {self.page_size}")
        if self.concurrency < 1:
            raise ValueError(f"concurrency is at least 1, not {self.concurrency}")


#: The options' numpydoc entries.
OPTION_DOCS = """\
page_size
    Invoices per request (PayPal's maximum, 100, by default).
concurrency
    Requests in flight at once (6); halved whenever PayPal answers 429, raised again
    slowly after successes. Each request is tried again only by the client's retry policy.
progress
    Show a progress bar: None (the default) only in a notebook or a terminal and only once
    the pull has taken a second; True always; False never.
max_pages
    The deepest page PayPal serves (1000); a smaller value is for tests of the split.
verify
    Count the matches again after the pull and pull once more if the count moved (see
    :mod:`ppnb.pager`); costs one request. :func:`ppnb.sync` has its own check."""


def _fill(doc: str | None) -> str:
    """A docstring with its ``%(filters)s`` and ``%(options)s`` lines replaced by
    :data:`FILTER_DOCS` and :data:`OPTION_DOCS`, indented as those lines are."""
    text = doc or ""
    for marker, entries in (("%(filters)s", FILTER_DOCS), ("%(options)s", OPTION_DOCS)):
        for line in text.splitlines():
            if line.strip() == marker:
                indent = line[: len(line) - len(line.lstrip())]
                text = text.replace(line, "\n".join(indent + entry if entry else entry
                                                    for entry in entries.splitlines()), 1)
    return text


search_data.__doc__ = _fill(search_data.__doc__)
Options.__doc__ = _fill(Options.__doc__)


def _keywords(function: Callable[..., Any]) -> tuple[inspect.Parameter, ...]:
    return tuple(p for p in inspect.signature(function).parameters.values()
                 if p.kind is inspect.Parameter.KEYWORD_ONLY)


#: The filters' and the options' keyword-only parameters, in order.
FILTER_PARAMETERS = _keywords(search_data)
OPTION_PARAMETERS = _keywords(Options)
#: Their names.
FILTERS = tuple(p.name for p in FILTER_PARAMETERS)
OPTIONS = tuple(p.name for p in OPTION_PARAMETERS)

P = ParamSpec("P")
R = TypeVar("R")


def pager_parameters(function: Callable[P, R]) -> Callable[P, R]:
    """Give ``function(client, *, own options..., **given)`` the filters of
    :func:`search_data` and the :class:`Options` as explicit keyword-only parameters.

    Its signature lists the filters, then its own keywords, then the options (what
    Shift-Tab and ``help`` show); its docstring's ``%(filters)s`` and ``%(options)s`` lines
    become their documentation; a call with a keyword that is none of them raises
    ``TypeError`` naming the function, as for any Python function. ``given`` receives the
    filters and options passed.
    """
    own = inspect.signature(function)
    head = [p for p in own.parameters.values() if p.kind is not p.VAR_KEYWORD]
    split = next((i for i, p in enumerate(head) if p.kind is p.KEYWORD_ONLY), len(head))
    signature = own.replace(parameters=[*head[:split], *FILTER_PARAMETERS, *head[split:],
                                        *OPTION_PARAMETERS])

    @functools.wraps(function)
    def checked(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            signature.bind(*args, **kwargs)
        except TypeError as exc:
            raise TypeError(f"{function.__name__}() {exc}; its filters are "
                            f"{', '.join(FILTERS)}; its options {', '.join(OPTIONS)}") from None
        return function(*args, **kwargs)

    checked.__signature__ = signature  # type: ignore[attr-defined]
    checked.__doc__ = _fill(function.__doc__)
    return checked
