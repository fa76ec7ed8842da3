"""The search pager: every matching invoice, fast, with nothing lost or duplicated.

``fetch_tables(client, status="UNPAID", invoice_date=("2024-01-01", "2024-12-31"))`` pulls
all matching invoices (with their items, payments and refunds) into pandas tables.

How a pull works
----------------
1. Page 1 is fetched with ``total_required``; the remaining pages are fetched concurrently
   by a bounded pool of threads (default 6) that shrinks when PayPal answers 429 and grows
   back slowly after successes.
2. PayPal serves at most page 1000 of a search. A query matching more than
   1000 × ``page_size`` invoices is split into invoice-date windows (halving the date range)
   until every window fits, automatically.
3. Results are deduplicated by invoice id, keeping the most recently updated copy.
4. Search results may be summaries: PayPal's saved list and search responses carry no items,
   no payment or refund transactions and only a creation time (``../shared/paypal/
   OBSERVED.md``), and a server may ignore ``fields``. An invoice that lacks what its status
   says exists (payments of a paid invoice, refunds of a refunded one, the cancel time of a
   cancelled one, and for the full tables its items and transactions) is read again with
   GET, one by one, concurrently under the same rate-limit handling, counted by the progress
   bar. So an as-of aging is never silently wrong, and a server that sends everything costs
   no extra request.

What is downloaded
------------------
:func:`fetch_tables` and :func:`fetch_raw` ask for every collection (``fields``), because the
tables need items, payments and refunds. :func:`fetch_invoices` builds only the invoices
table, so it asks for none: summaries carry the amounts paid, refunded and due, and only the
invoices whose summaries lack them are read in full.

Consistency while invoices change during a pull
------------------------------------------------
Results are ordered newest first. An invoice that exists and matches for the whole pull
appears exactly once: invoices created meanwhile shift later pages, so a page may repeat an
invoice (dropped by the dedup) but cannot skip one. Invoices created during the pull may or
may not be included, and each row is the invoice as it was when its page was read. Deleting a
matching draft during the pull shifts pages the other way; the pager notices (the total
shrank) and reads the pages once more, so what remains is complete.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import gc
import math
import sys
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import pandas as pd

from .client import Client, NotFound, RateLimited
from .frames import CANCELLED_STATUSES, Tables, Walked, assemble, flatten, walk

__all__ = ["MAX_PAGES", "fetch_invoices", "fetch_raw", "fetch_tables", "incomplete",
           "search_data"]

#: PayPal serves pages 1 to 1000 of a search.
MAX_PAGES = 1000
#: Ask for every collection: the tables need items, payments and refunds, and asking for all
#: lets the server send each stored invoice as it is, without trimming it.
COLLECTIONS = ["items", "payments", "refunds", "additional_recipients_info", "attachments"]
#: Statuses that say payments were recorded, refunds were recorded, or the invoice was
#: cancelled (``AUTO_CANCELLED``: PayPal's documentation lists it, the spec's enum does not).
PAID_STATUSES = frozenset({"PAID", "MARKED_AS_PAID", "PARTIALLY_PAID", "REFUNDED",
                           "PARTIALLY_REFUNDED", "MARKED_AS_REFUNDED"})
REFUNDED_STATUSES = frozenset({"REFUNDED", "PARTIALLY_REFUNDED", "MARKED_AS_REFUNDED"})
#: A page slower than this (seconds) to come is read into columns as soon as it arrives.
OVERLAP_AFTER = 0.05
_TEXT_FILTERS = {
    "invoice_number": "invoice_number",
    "recipient_email": "recipient_email",
    "recipient_first_name": "recipient_first_name",
    "recipient_last_name": "recipient_last_name",
    "recipient_business_name": "recipient_business_name",
    "reference": "reference",
    "memo": "memo",
    "currency": "currency_code",
}
_FIRST_DAY, _LAST_DAY = dt.date(1970, 1, 1), dt.date(2199, 12, 31)

DateLike = dt.date | dt.datetime | str
Range = tuple[DateLike | None, DateLike | None]


class PagerError(RuntimeError):
    """A query that cannot be paged completely (e.g. > 100,000 invoices on one day)."""


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
    archived: bool | None = None,
    **text: str,
) -> dict[str, Any]:
    """Translate Pythonic filters into PayPal's ``search_data``.

    Parameters
    ----------
    status
        One status or several (at most 5, PayPal's limit).
    invoice_date, due_date
        ``(start, end)`` dates (``date`` or ISO strings), inclusive; either end may be None.
    payment_date, created
        ``(start, end)``: dates cover whole days (UTC); datetimes are exact.
    total
        ``(low, high)`` amounts as Decimal or strings, in ``currency`` (required then).
    archived
        Only archived (True) or only unarchived (False) invoices.
    **text
        ``invoice_number``, ``recipient_email``, ``recipient_first_name``,
        ``recipient_last_name``, ``recipient_business_name``, ``reference``, ``memo``,
        ``currency``: whole-value matches.

    Raises
    ------
    TypeError
        For a filter PayPal does not have.
    ValueError
        For a malformed value (e.g. ``total`` without ``currency``).
    """
    unknown = set(text) - set(_TEXT_FILTERS)
    if unknown:
        raise TypeError(f"unknown filter(s): {', '.join(sorted(unknown))}; "
                        f"known: status, invoice_date, due_date, payment_date, created, total, "
                        f"archived, {', '.join(_TEXT_FILTERS)}")
    data: dict[str, Any] = {_TEXT_FILTERS[k]: v for k, v in text.items() if v is not None}
    if status is not None:
        data["status"] = [status] if isinstance(status, str) else list(status)
        if not 1 <= len(data["status"]) <= 5:
            raise ValueError("status takes 1 to 5 statuses")
    for key, value in (("invoice_date_range", invoice_date), ("due_date_range", due_date)):
        if value is not None:
            start, end = value
            data[key] = {"start": _day(start or _FIRST_DAY).isoformat(),
                         "end": _day(end or _LAST_DAY).isoformat()}
    for key, value in (("payment_date_range", payment_date), ("creation_date_range", created)):
        if value is not None:
            start, end = value
            data[key] = {"start": _moment(start or _FIRST_DAY, False),
                         "end": _moment(end or _LAST_DAY, True)}
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


class _Limiter:
    """A concurrency limit that halves on rate limiting and creeps back up on success."""

    def __init__(self, limit: int) -> None:
        self.ceiling = self.limit = max(1, limit)
        self._active = 0
        self._successes = 0
        self._cond = threading.Condition()

    def __enter__(self) -> None:
        with self._cond:
            while self._active >= self.limit:
                self._cond.wait()
            self._active += 1

    def __exit__(self, *exc: object) -> None:
        with self._cond:
            self._active -= 1
            self._cond.notify_all()

    def throttled(self) -> None:
        with self._cond:
            self.limit = max(1, self.limit // 2)
            self._successes = 0

    def succeeded(self) -> None:
        with self._cond:
            self._successes += 1
            if self.limit < self.ceiling and self._successes >= 4 * self.limit:
                self.limit += 1
                self._successes = 0
                self._cond.notify_all()


def _interactive() -> bool:
    shell = sys.modules.get("IPython")
    if shell is not None and getattr(shell, "get_ipython", lambda: None)() is not None:
        return True
    return sys.stderr.isatty()


def incomplete(invoice: Mapping[str, Any], *, collections: bool) -> bool:
    """Whether a search result lacks what its status says exists, so that it must be read
    again with GET.

    Always needed: the payments of a paid, partly paid or refunded invoice, the refunds of a
    refunded one (their totals; their transactions when ``collections``), and the cancel
    time of a cancelled one. With ``collections`` (the full tables) also its items (every
    invoice has at least one) and the transactions behind any paid or refunded total.
    """
    status = invoice.get("status")
    payments = invoice.get("payments") or {}
    refunds = invoice.get("refunds") or {}
    if collections:
        if not invoice.get("items") or (
                "paid_amount" in payments and "transactions" not in payments) or (
                "refund_amount" in refunds and "transactions" not in refunds):
            return True
        paid, refunded = "transactions", "transactions"
    else:
        paid, refunded = "paid_amount", "refund_amount"
    if (status in PAID_STATUSES and not payments.get(paid)) or (
            status in REFUNDED_STATUSES and not refunds.get(refunded)):
        return True
    metadata = (invoice.get("detail") or {}).get("metadata") or {}
    return status in CANCELLED_STATUSES and not metadata.get("cancel_time")


@dataclass(frozen=True)
class _Page:
    """One page's invoices, and (for tables) their raw columns, read as the page came."""

    items: list[dict]
    whole: bool  # none of its invoices needs reading again (:func:`incomplete`)
    walked: Walked | None  # its columns, when read as it arrived


class _Pull:
    """One pull: the client, paging parameters, the limiter and the progress bar."""

    def __init__(self, client: Client, *, page_size: int = 100, concurrency: int = 6,
                 max_pages: int = MAX_PAGES, progress: bool | None = None,
                 collections: bool = True, tables: bool = False) -> None:
        if not 1 <= page_size <= 100:
            raise ValueError("page_size is 1 to 100")
        self.client = client
        self.page_size = page_size
        self.max_pages = max_pages
        self.collections = collections
        self.tables = tables
        self.fields = {"fields": COLLECTIONS} if collections else {}
        self.limiter = _Limiter(concurrency)
        self.pool = ThreadPoolExecutor(max(1, concurrency), thread_name_prefix="ppnb-pager")
        from tqdm.auto import tqdm

        self.bar = tqdm(total=0, unit="inv", desc="invoices",
                        disable=not (_interactive() if progress is None else progress))

    def limited(self, call: Callable[[], dict], what: str) -> dict:
        """One request, retried at a lower concurrency while PayPal rate-limits us."""
        for _ in range(8):
            seen = self.client.stats["429"]
            try:
                with self.limiter:
                    body = call()
            except RateLimited:
                self.limiter.throttled()
                continue
            if self.client.stats["429"] > seen:
                self.limiter.throttled()
            else:
                self.limiter.succeeded()
            return body
        raise PagerError(f"{what} kept being rate-limited; try again later")

    def page(self, data: Mapping[str, Any], number: int, total: bool = False
             ) -> tuple[dict, _Page]:
        """One page of search results (the body, and its invoices, read for the tables when
        the pull overlaps reading with waiting)."""
        started = time.perf_counter()
        body = self.limited(lambda: self.client.invoices.search(
            {**data, **self.fields}, page=number, page_size=self.page_size,
            total_required=total), f"page {number}")
        items = body.get("items", [])
        whole = not any(incomplete(i, collections=self.collections) for i in items)
        walked = None
        # Reading a page as it comes pays when it was slow to come (PayPal: hundreds of ms a
        # call), while other pages are still on their way; a page a local server sent in a
        # few ms is read at the end instead, where it does not compete with the transfers
        # for the interpreter.
        if self.tables and whole and time.perf_counter() - started >= OVERLAP_AFTER:
            walked = walk(items)
        self.bar.update(len(items))
        return body, _Page(items, whole, walked)

    def invoice(self, invoice_id: str) -> dict | None:
        """One invoice read whole (None if it was deleted meanwhile)."""
        try:
            body = self.limited(lambda: self.client.invoices.get(invoice_id),
                                f"invoice {invoice_id}")
        except NotFound:
            body = None
        self.bar.update(1)
        return body

    def complete(self, found: list[dict]) -> list[dict]:
        """Read again, one by one and concurrently, every result that lacks what its
        status says exists (:func:`incomplete`)."""
        todo = [i for i, inv in enumerate(found) if incomplete(inv, collections=self.collections)]
        if not todo:
            return found
        self.bar.total = (self.bar.total or 0) + len(todo)
        self.bar.set_description(f"invoices (+{len(todo):,} read one by one)")
        whole = list(self.pool.map(lambda i: self.invoice(found[i]["id"]), todo))
        gone = set()
        for i, invoice in zip(todo, whole, strict=True):
            if invoice is None:
                gone.add(i)
            else:
                found[i] = invoice
        return [inv for i, inv in enumerate(found) if i not in gone]

    def window(self, data: dict[str, Any]) -> list[_Page]:
        """All pages matching ``data``, splitting by invoice date when over the cap."""
        body, first = self.page(data, 1, total=True)
        total = int(body.get("total_items", len(first.items)))
        pages = math.ceil(total / self.page_size)
        if pages > self.max_pages:
            return self.split(data)
        self.totals.append(total)
        self.bar.total = (self.bar.total or 0) + total
        self.bar.refresh()
        return [first, *(page for _, page in self.pool.map(lambda n: self.page(data, n),
                                                            range(2, pages + 1)))]

    def split(self, data: dict[str, Any]) -> list[_Page]:
        rng = data.get("invoice_date_range") or {}
        start = dt.date.fromisoformat(rng.get("start", _FIRST_DAY.isoformat()))
        end = dt.date.fromisoformat(rng.get("end", _LAST_DAY.isoformat()))
        if start >= end:
            raise PagerError(
                f"more than {self.max_pages * self.page_size:,} invoices on {start}: PayPal "
                "cannot page them all; add a filter (status, currency, recipient) to split "
                "the query")
        middle = start + (end - start) // 2
        halves = [(start, middle), (middle + dt.timedelta(days=1), end)]
        out: list[_Page] = []
        for lo, hi in halves:
            out += self.window({**data, "invoice_date_range": {"start": lo.isoformat(),
                                                               "end": hi.isoformat()}})
        return out

    def run(self, data: dict[str, Any], *, verify: bool = True) -> Any:
        """The pull: the invoices as dicts, or their :class:`Tables` when ``self.tables``.

        The count that checks the pull is sent as soon as the last page is in, and the
        results are completed and assembled while it is on its way.
        """
        try:
            for _ in range(3):
                self.totals: list[int] = []
                pages = self.window(data)
                checking = self.pool.submit(count, self.client, data) if verify else None
                result = self.finish(pages)
                if checking is None or checking.result() == sum(self.totals):
                    break  # the matching set kept its size: pages could not have shifted
            return result
        finally:
            self.pool.shutdown(wait=True)
            self.bar.close()

    def finish(self, pages: list[_Page]) -> Any:
        """Deduplicated, completed results; as tables assembled from the pages' readings
        (those made as pages came, the others now) when every page is whole and no invoice
        came twice (the usual case), else flattened at once."""
        found = [invoice for page in pages for invoice in page.items]
        if self.tables and all(page.whole for page in pages) and (
                len({invoice["id"] for invoice in found}) == len(found)):
            return assemble([page.walked or walk(page.items) for page in pages])
        found = self.complete(dedupe(found))
        return flatten(found) if self.tables else found


@contextlib.contextmanager
def gc_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector while millions of small objects are built.

    Parsed invoices are plain dicts and lists with no reference cycles; letting the
    collector rescan a growing heap on every allocation burst made pulls ~1.7× slower.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def count(client: Client, data: Mapping[str, Any]) -> int:
    """How many invoices match ``search_data`` now (one request)."""
    return int(client.invoices.search(data, page_size=1, total_required=True)["total_items"])


def dedupe(invoices: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """One copy per invoice id: the most recently updated, in first-seen order."""
    chosen: dict[str, dict[str, Any]] = {}
    for invoice in invoices:
        key = invoice["id"]
        old = chosen.get(key)
        if old is None or _updated(invoice) >= _updated(old):
            chosen[key] = invoice
    return list(chosen.values())


def _updated(invoice: Mapping[str, Any]) -> str:
    return ((invoice.get("detail") or {}).get("metadata") or {}).get("last_update_time", "")


def fetch_raw(
    client: Client,
    *,
    page_size: int = 100,
    concurrency: int = 6,
    progress: bool | None = None,
    max_pages: int = MAX_PAGES,
    verify: bool = True,
    collections: bool = True,
    **filters: Any,
) -> list[dict]:
    """Every invoice matching ``filters`` (see :func:`search_data`) as API dicts, with their
    items, payments and refunds.

    Parameters
    ----------
    page_size
        Invoices per request (PayPal's maximum is 100).
    concurrency
        Pages in flight at once; halved whenever PayPal answers 429.
    progress
        Show a tqdm progress bar; default: only when interactive (a notebook or a terminal).
    max_pages
        The deepest page PayPal serves (1000); a smaller value is for tests of the split.
    verify
        Count the matches again after the pull and pull once more if the count moved (see
        the module docstring); costs one request. :func:`ppnb.sync` has its own check.
    collections
        Ask for items, payments and refunds (default). False asks for none: search summaries,
        with only the invoices whose status needs more read whole (:func:`incomplete`).
    """
    return _pull(client, filters, tables=False, page_size=page_size, concurrency=concurrency,
                 progress=progress, max_pages=max_pages, verify=verify, collections=collections)


def _pull(client: Client, filters: dict[str, Any], *, tables: bool, verify: bool = True,
          **options: Any) -> Any:
    pull = _Pull(client, tables=tables, **options)
    with gc_paused():
        return pull.run(search_data(**filters), verify=verify)


def _split(options: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """Pager options and search filters, apart."""
    known = ("page_size", "concurrency", "progress", "max_pages", "verify")
    return ({k: v for k, v in options.items() if k in known},
            {k: v for k, v in options.items() if k not in known})


def fetch_tables(client: Client, **options: Any) -> Tables:
    """Every matching invoice as :class:`~ppnb.frames.Tables` (invoices, items, payments,
    refunds). Takes the options and filters of :func:`fetch_raw`.

    A page that was slow to come (over :data:`OVERLAP_AFTER`: a network) is read into columns
    as it arrives, while later pages are on their way; pages a local server sent fast are
    read at the end; the tables are assembled once, equal to :func:`~ppnb.frames.flatten` of
    :func:`fetch_raw`.
    """
    settings, filters = _split(options)
    return _pull(client, filters, tables=True, **settings)


def fetch_invoices(client: Client, **options: Any) -> pd.DataFrame:
    """Every matching invoice, one row each (see :func:`fetch_tables` for all tables).

    Downloads no item, payment or refund collections: the search summaries are enough,
    except for invoices whose status needs what their summary lacks, which are read whole
    (see :func:`fetch_raw` with ``collections=False``). Takes the options and filters of
    :func:`fetch_raw`.
    """
    settings, filters = _split(options)
    return _pull(client, filters, tables=True, collections=False, **settings).invoices
