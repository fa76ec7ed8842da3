"""One pull: concurrent pages under a shared throttle, date windows past the page cap, and
the results completed, deduplicated and assembled.

Pages are kept as the JSON bytes that came, and decoded one at a time when they are read
into columns (:func:`ppnb.frames.walk`), so a pull of 100,000 invoices never holds them all
as Python dicts and lists. Holding them made every collection of the cyclic garbage
collector scan millions of objects (a pull ran ~2× slower); now the collector is left
alone and costs little.
"""

from __future__ import annotations

import datetime as dt
import math
import time
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import orjson

from .._errors import PPNBError
from .._progress import progress_bar
from ..client import Client, NotFound, Throttle
from ..frames import Walked, assemble, flatten, walk
from ._complete import dedupe, incomplete
from ._parameters import FIRST_DAY, LAST_DAY, Options

__all__ = ["COLLECTIONS", "OVERLAP_AFTER", "PagerError", "Pull", "count"]

#: Ask for every collection: the tables need items, payments and refunds, and asking for all
#: lets the server send each stored invoice as it is, without trimming it.
COLLECTIONS = ["items", "payments", "refunds", "additional_recipients_info", "attachments"]
#: A page slower than this (seconds) to come is read into columns as soon as it arrives.
OVERLAP_AFTER = 0.05


class PagerError(PPNBError, RuntimeError):
    """A query that cannot be paged completely (e.g. > 100,000 invoices on one day)."""


def count(client: Client, data: Mapping[str, Any]) -> int:
    """How many invoices match ``search_data`` now (one request)."""
    return int(client.invoices.search(data, page_size=1, total_required=True)["total_items"])


@dataclass
class _Page:
    """One page as it came, and (for tables) its columns once read."""

    raw: bytes  # the search response's JSON
    whole: bool | None = None  # none of its invoices needs reading again (:func:`incomplete`)
    walked: Walked | None = None  # its columns, when it was read and whole

    def items(self) -> list[dict]:
        """The page's invoices, decoded."""
        return orjson.loads(self.raw).get("items", [])


class Pull:
    """One pull: the client (behind a throttle of its own), the :class:`Options`, the
    thread pool and the progress bar.

    Every request goes through ``client.with_throttle(Throttle(options.concurrency))``: at most
    ``concurrency`` in flight, halved after each 429 and raised again after successes,
    each request tried again only by the client's :class:`~ppnb.client.RetryPolicy`. A
    request that is still rate-limited after the policy's attempts raises
    :class:`~ppnb.client.RateLimited` and ends the pull.
    """

    def __init__(self, client: Client, options: Options, *, collections: bool = True,
                 tables: bool = False) -> None:
        self.client = client.with_throttle(Throttle(options.concurrency))
        self.page_size = options.page_size
        self.max_pages = options.max_pages
        self.progress = options.progress
        self.verify = options.verify
        self.collections = collections
        self.tables = tables
        self.fields = {"fields": COLLECTIONS} if collections else {}
        self.pool = ThreadPoolExecutor(options.concurrency, thread_name_prefix="ppnb-pager")
        self.bar: Any = None  # made when the first total is known: no "0inv" bar
        self.totals: list[int] = []

    def expect(self, more: int, what: str = "invoices") -> None:
        """Add ``more`` invoices to the progress bar's total (making the bar the first time)."""
        if self.bar is None:
            self.bar = progress_bar(show=self.progress, total=more, desc=what, unit="inv")
        else:
            self.bar.total += more
            self.bar.set_description(what, refresh=False)

    def advance(self, done: int) -> None:
        """Count ``done`` more invoices on the progress bar."""
        if self.bar is not None:
            self.bar.update(done)

    def page(self, data: Mapping[str, Any], number: int, total: bool = False) -> _Page:
        """One page of search results, read into columns at once when it was slow to come
        and the pull makes tables (reading overlaps the wait for other pages)."""
        started = time.perf_counter()
        page = _Page(self.client.invoices.search_raw(
            {**data, **self.fields}, page=number, page_size=self.page_size,
            total_required=total))
        # Reading a page as it comes pays when it was slow to come (PayPal: hundreds of ms a
        # call), while other pages are still on their way; a page a local server sent in a
        # few ms is read at the end instead, where it does not compete with the transfers
        # for the interpreter.
        if self.tables and time.perf_counter() - started >= OVERLAP_AFTER:
            self.read(page)
        return page

    def read(self, page: _Page) -> None:
        """Decode a page, note whether it is whole and, if so, read it into columns (the
        decoded dicts are dropped at once)."""
        if page.whole is None:
            items = page.items()
            page.whole = not any(incomplete(i, collections=self.collections) for i in items)
            if page.whole:
                page.walked = walk(items)

    def later_page(self, data: Mapping[str, Any], number: int, expected: int) -> _Page:
        """Page ``number`` (after the first), counted on the progress bar as the
        ``expected`` invoices it holds."""
        page = self.page(data, number)
        self.advance(expected)
        return page

    def invoice(self, invoice_id: str) -> dict | None:
        """One invoice read whole (None if it was deleted meanwhile)."""
        try:
            body = self.client.invoices.get(invoice_id)
        except NotFound:
            body = None
        self.advance(1)
        return body

    def complete(self, found: list[dict]) -> list[dict]:
        """Read again, one by one and concurrently, every result that lacks what its
        status says exists (:func:`incomplete`)."""
        todo = [i for i, inv in enumerate(found) if incomplete(inv, collections=self.collections)]
        if not todo:
            return found
        self.expect(len(todo), f"invoices (+{len(todo):,} read one by one)")
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
        first = self.page(data, 1, total=True)
        body = orjson.loads(first.raw)
        total = int(body.get("total_items", len(body.get("items", []))))
        pages = math.ceil(total / self.page_size)
        if pages > self.max_pages:
            return self.split(data)
        self.totals.append(total)
        self.expect(total)
        self.advance(len(body.get("items", [])))
        size = self.page_size
        return [first, *self.pool.map(
            lambda n: self.later_page(data, n, min(size, total - (n - 1) * size)),
            range(2, pages + 1))]

    def split(self, data: dict[str, Any]) -> list[_Page]:
        """The pages of both halves of ``data``'s invoice-date range."""
        rng = data.get("invoice_date_range") or {}
        start = dt.date.fromisoformat(rng.get("start", FIRST_DAY.isoformat()))
        end = dt.date.fromisoformat(rng.get("end", LAST_DAY.isoformat()))
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

    def run(self, data: dict[str, Any]) -> Any:
        """The pull: the invoices as dicts, or their :class:`Tables` when ``self.tables``.

        The count that checks the pull is sent as soon as the last page is in, and the
        results are completed and assembled while it is on its way.
        """
        try:
            for _ in range(3):
                self.totals = []
                pages = self.window(data)
                checking = self.pool.submit(count, self.client, data) if self.verify else None
                result = self.finish(pages)
                if checking is None or checking.result() == sum(self.totals):
                    break  # the matching set kept its size: pages could not have shifted
            return result
        finally:
            self.pool.shutdown(wait=True, cancel_futures=True)
            if self.bar is not None:
                self.bar.close()

    def finish(self, pages: list[_Page]) -> Any:
        """Deduplicated, completed results. For tables, every page is read into columns,
        one after another (those read as they came already are); when every page is whole
        and no invoice came twice (the usual case) the tables are assembled from those
        columns, else the invoices are completed and flattened at once."""
        if self.tables:
            for page in pages:
                self.read(page)
            if all(page.whole for page in pages):
                walked = [page.walked for page in pages if page.walked is not None]
                ids = [i for part in walked for i in part.invoices["id"]]
                if len(set(ids)) == len(ids):
                    return assemble(walked)
        found = self.complete(dedupe(invoice for page in pages for invoice in page.items()))
        return flatten(found) if self.tables else found
