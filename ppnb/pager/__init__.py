"""The search pager: every matching invoice, fast, with nothing lost or duplicated.

``fetch_tables(client, status="UNPAID", invoice_date=("2024-01-01", "2024-12-31"))`` pulls
all matching invoices (with their items, payments and refunds) into pandas tables.

How a pull works
----------------
1. Page 1 is fetched with ``total_required``; the remaining pages are fetched concurrently
   by a pool of threads (default 6) through one :class:`~ppnb.client.Throttle`: the number
   of requests in flight halves when PayPal answers 429 and grows back slowly after
   successes. Retries are the client's alone (its :class:`~ppnb.client.RetryPolicy`, which
   honours ``Retry-After``): a page is tried at most ``retry.attempts`` times, and a page
   still rate-limited then ends the pull with :class:`~ppnb.client.RateLimited`. A pull
   changes nothing outside itself (no garbage-collector switch, no shared counter read).
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
5. The progress bar (``progress=None``) appears only in a notebook or a terminal, and only
   once a pull has taken a second (:mod:`ppnb._progress`).

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

from typing import Any

import pandas as pd

from ..client import Client
from ..frames import Tables
from ._complete import dedupe, incomplete
from ._parameters import FILTERS, MAX_PAGES, Options, pager_parameters, search_data
from ._pull import COLLECTIONS, OVERLAP_AFTER, PagerError, Pull, count

__all__ = ["COLLECTIONS", "MAX_PAGES", "OVERLAP_AFTER", "Options", "PagerError", "count",
           "dedupe", "fetch_invoices", "fetch_raw", "fetch_tables", "incomplete",
           "search_data"]


def _fetch(client: Client, given: dict[str, Any], *, tables: bool,
           collections: bool = True) -> Any:
    """Pull what ``given`` (filters and options, checked by :func:`pager_parameters`) asks."""
    filters = {k: v for k, v in given.items() if k in FILTERS}
    options = Options(**{k: v for k, v in given.items() if k not in FILTERS})
    return Pull(client, options, tables=tables, collections=collections).run(
        search_data(**filters))


@pager_parameters
def fetch_raw(client: Client, *, collections: bool = True, **given: Any) -> list[dict]:
    """Every matching invoice as API dicts, with their items, payments and refunds.

    Parameters
    ----------
    client
        Where to read, e.g. ``ppnb.connect()``.
    %(filters)s
    collections
        Ask for items, payments and refunds (default). False asks for none: search summaries,
        with only the invoices whose status needs more read whole (:func:`incomplete`).
    %(options)s

    Returns
    -------
    list of dict
        One dict per invoice, deduplicated by id.

    Raises
    ------
    TypeError
        For a keyword that is neither a filter nor an option.
    ValueError
        For a malformed filter value or option (e.g. ``page_size`` outside 1 to 100).
    ppnb.client.PayPalError
        When a request fails after the client's retries (e.g. :class:`~ppnb.client.RateLimited`
        when PayPal kept answering 429).
    PagerError
        When more than ``max_pages × page_size`` invoices share one invoice date.
    """
    return _fetch(client, given, tables=False, collections=collections)


@pager_parameters
def fetch_tables(client: Client, **given: Any) -> Tables:
    """Every matching invoice as :class:`~ppnb.frames.Tables` (invoices, items, payments,
    refunds).

    A page that was slow to come (over :data:`OVERLAP_AFTER`: a network) is read into columns
    as it arrives, while later pages are on their way; pages a local server sent fast are
    read at the end; the tables are assembled once, equal to :func:`~ppnb.frames.flatten` of
    :func:`fetch_raw`.

    Parameters
    ----------
    client
        Where to read, e.g. ``ppnb.connect()``.
    %(filters)s
    %(options)s

    Returns
    -------
    Tables
        The four tables, every ``*_minor`` column exact.

    Raises
    ------
    TypeError, ValueError, ppnb.client.PayPalError, PagerError
        As :func:`fetch_raw`.

    Examples
    --------
    >>> tables = fetch_tables(client, status=["SENT", "UNPAID"], currency="USD")  # doctest: +SKIP
    """
    return _fetch(client, given, tables=True)


@pager_parameters
def fetch_invoices(client: Client, **given: Any) -> pd.DataFrame:
    """Every matching invoice, one row each (see :func:`fetch_tables` for all tables).

    Downloads no item, payment or refund collections: the search summaries are enough,
    except for invoices whose status needs what their summary lacks, which are read whole
    (see :func:`fetch_raw` with ``collections=False``).

    Parameters
    ----------
    client
        Whose invoices to read.
    %(filters)s
    %(options)s

    Returns
    -------
    pandas.DataFrame
        The invoices table of :class:`~ppnb.frames.Tables` (columns as
        :data:`ppnb.frames.INVOICE_COLUMNS`).

    Raises
    ------
    TypeError, ValueError, ppnb.client.PayPalError, PagerError
        As :func:`fetch_raw`.
    """
    return _fetch(client, given, tables=True, collections=False).invoices
