"""Search and list: every filter of ``search_data`` as SQL over indexed columns, and the
ordered matches remembered per merchant.

Rules: every filter must match; text filters match whole values, case-insensitively; date
ranges are inclusive; ``total_amount_range`` matches invoices in the range's currency.
Results are newest first (creation order, descending). Each is PayPal's summary
(:func:`._shape.paypal_summary`) plus the invoice's times and term type, and the collections
``fields`` asks for (all of them: whole invoices). With :attr:`Search.summaries` on, list
and search items are exactly PayPal's summaries.

Every filter is served by an index of the ``invoices`` table (:mod:`._store`). Each query's
ordered matches come from one index scan and are remembered until the merchant's book next
changes (:meth:`._book.Book.version`), so a pager walking a thousand pages pays for one scan
instead of a thousand ever-deeper ``OFFSET`` scans, and every page is cut from the same
consistent result.
"""

from __future__ import annotations

from array import array
from collections import OrderedDict
from typing import Any

import orjson

from ..money import MoneyError, to_minor
from . import _schema as S
from ._book import Book, Merchant
from ._clock import isoformat
from ._errors import error
from ._shape import paypal_summary, search_view
from ._validation import parse_datetime, validate

#: How list and search items look: ``off`` (whole invoices for list; search: PayPal's
#: summaries plus the invoice's times and term type, and the collections ``fields`` asks
#: for), ``on`` (exactly PayPal's summaries unless a search's ``fields`` asks for
#: collections) or ``always`` (summaries even then: a server that ignores ``fields``, the
#: worst case a client must survive).
SUMMARY_MODES = ("off", "on", "always")
COLLECTIONS = ("items", "payments", "refunds", "additional_recipients_info", "attachments")
#: How many queries' ordered matches are remembered at once.
REMEMBERED = 16
#: Text filters and the column each matches (whole values, case-insensitively).
_TEXT = (("recipient_email", "email"), ("recipient_first_name", "given_name"),
         ("recipient_last_name", "surname"), ("recipient_business_name", "business"),
         ("invoice_number", "number"), ("reference", "reference"),
         ("currency_code", "currency"), ("memo", "memo"))


class Search:
    """The search and list operations of Invoicing v2 (see the module notes)."""

    def __init__(self, book: Book) -> None:
        self.book = book
        #: How list and search items look (one of :data:`SUMMARY_MODES`).
        self.summaries = "off"
        self._results: OrderedDict[tuple[str, tuple[Any, ...]], tuple[int, array]] = (
            OrderedDict())

    def forget(self) -> None:
        """Drop the remembered results (the database changed underneath)."""
        self._results.clear()

    def search(
        self,
        merchant: Merchant,
        filters: Any,
        *,
        page: int = 1,
        page_size: int = 20,
        total_required: bool = False,
        full: bool | None = None,
    ) -> tuple[list[bytes], int | None, bool]:
        """Invoices matching every filter, newest first.

        Returns the page's documents, the total count (when required) and whether another
        page follows. ``full`` is given by the list operation: whole documents with
        ``fields=all``. Otherwise the ``fields`` filter chooses which collections each result
        carries. With :attr:`summaries` on, list items, and search items when ``fields`` asks
        for no collection (or always, in ``always`` mode), are PayPal's summaries.
        """
        clean = validate(S.SEARCH, filters if filters is not None else {})
        where, params = ["merchant = ?"], [merchant.payer_id]
        for key, column in _TEXT:
            if key in clean:
                where.append(f"{column} = ?" + (" COLLATE NOCASE" if column == "number" else ""))
                params.append(clean[key])
        if clean.get("status"):
            where.append(f"status IN ({', '.join('?' * len(clean['status']))})")
            params += clean["status"]
        if "total_amount_range" in clean:
            low, high = clean["total_amount_range"]["lower_amount"], clean[
                "total_amount_range"]["upper_amount"]
            currency = low["currency_code"]
            try:
                lo, hi = to_minor(low["value"], currency), to_minor(high["value"], currency)
                if high["currency_code"] != currency:
                    raise MoneyError("the range's currencies differ", "currency")
            except MoneyError as exc:
                raise error(400, "INVALID_PARAMETER_SYNTAX",
                            "the value of a field does not conform to the expected format.",
                            "/total_amount_range", str(exc)) from None
            where.append("currency = ? AND total_minor BETWEEN ? AND ?")
            params += [currency, lo, hi]
        for key, column in (("invoice_date_range", "invoice_date"), ("due_date_range",
                                                                     "due_date")):
            if key in clean:
                where.append(f"{column} BETWEEN ? AND ?")
                params += [clean[key]["start"], clean[key]["end"]]
        if "creation_date_range" in clean:
            where.append("created BETWEEN ? AND ?")
            params += [isoformat(parse_datetime(clean["creation_date_range"][k]))
                       for k in ("start", "end")]
        if "payment_date_range" in clean:
            start, end = (parse_datetime(clean["payment_date_range"][k]).date().isoformat()
                          for k in ("start", "end"))
            where.append("seq IN (SELECT invoice_seq FROM payment_dates WHERE merchant = ? "
                         "AND payment_date BETWEEN ? AND ?)")
            params += [merchant.payer_id, start, end]
        if clean.get("archived") is not None:
            where.append("archived = ?")
            params.append(int(clean["archived"]))
        fields = {f.strip().lower() for f in clean.get("fields", []) if f.strip()}
        unknown = fields - set(COLLECTIONS)
        if unknown:
            raise error(400, "INVALID_PARAMETER_SYNTAX",
                        "the value of a field does not conform to the expected format.",
                        "/fields", ", ".join(sorted(unknown)))
        brief = self.summaries == "always" or (
            self.summaries == "on" and (full is not None or not fields))
        column = "doc" if full or fields >= set(COLLECTIONS) else "summary"
        seqs = self._matching(merchant, " AND ".join(where), tuple(params))
        offset = (page - 1) * page_size
        chosen = seqs[offset : offset + page_size]
        docs: list[bytes] = []
        if chosen:
            wanted = "doc" if column == "doc" or fields or brief else "summary"
            marks = ", ".join("?" * len(chosen))
            found = dict(self.book.store.all(
                f"SELECT seq, {wanted} FROM invoices WHERE seq IN ({marks})", tuple(chosen)
            ))
            docs = [found[seq] for seq in chosen]
            if brief:
                docs = [orjson.dumps(paypal_summary(orjson.loads(d))) for d in docs]
            elif column == "summary" and fields:
                docs = [orjson.dumps(search_view(orjson.loads(d), keep=fields,
                                                 times=self.summaries == "off")) for d in docs]
        more = len(seqs) > offset + page_size
        return docs, (len(seqs) if total_required else None), more

    def _matching(self, merchant: Merchant, where: str, params: tuple[Any, ...]) -> array:
        """Sequence numbers matching a search, newest first, from an index scan, remembered
        until the merchant's book next changes (see the module notes)."""
        key = (where, params)
        version = self.book.version(merchant)
        cached = self._results.get(key)
        if cached is not None and cached[0] == version:
            self._results.move_to_end(key)
            return cached[1]
        seqs = array("q", (row[0] for row in self.book.store.all(
            f"SELECT seq FROM invoices WHERE {where} ORDER BY seq DESC", params)))
        self._results[key] = (version, seqs)
        while len(self._results) > REMEMBERED:
            self._results.popitem(last=False)
        return seqs
