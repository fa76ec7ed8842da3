"""As-of aging: what was owed on a date, by how late, per group and currency."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from ..display import declare, declare_rates
from ..frames import Tables
from ._common import Book, Pairs, book_of
from ._params import (
    DEFAULT_BUCKETS,
    AnalysisError,
    amount_text,
    as_date,
    bucket_labels,
    check_basis,
    check_buckets,
    day_number,
    key_names,
    resolve_as_of,
    resolve_by,
)
from ._rates import Rates

__all__ = ["Aging", "aging", "aging_series"]


@dataclass(frozen=True, eq=False)
class Aging:
    """An aged receivables balance as of one date (the result of :func:`aging`).

    Attributes
    ----------
    as_of
        The date the balance is taken at (end of that day).
    basis
        ``"due_date"`` or ``"invoice_date"``: what days past due are counted from.
    buckets
        The bucket edges in days, e.g. ``(30, 60, 90)``.
    labels
        The bucket labels in order, e.g. ``["current", "1-30", "31-60", "61-90", "91+"]``.
    by
        The group key columns of ``summary`` (``["customer", "customer_name"]`` for
        ``by="customer"``, ``[]`` for ``"currency"``/``"none"``).
    summary
        One row per group × currency: the ``by`` columns, ``currency``, one int64 column per
        label (outstanding minor units), ``total`` (int64) and ``pct_<label>`` (float, percent
        of the row's total, display only). Sorted by the keys and currency.
    totals
        One row per currency: ``currency``, the labels, ``total``, ``pct_<label>``.
    detail
        One row per open invoice: ``id``, ``number``, ``customer``, ``customer_name``,
        ``currency``, ``invoice_date``, ``due_date``, ``total_minor``, ``paid_minor`` (paid as
        of ``as_of``), ``outstanding_minor``, ``days_past_due`` (``as_of`` minus the basis
        date; negative when not yet due) and ``bucket`` (its label). Sorted by customer,
        then invoice date.
    converted
        With ``rates``: one row per group, the group keys, ``currency`` (the target), the
        labels and ``total`` as int64 minor units of the target currency (each currency's
        exact amount × its rate, summed, rounded once half up to the target's minor unit),
        and ``rates_date``; else ``None``. ``totals`` is never converted in place: with
        ``rates`` its ``.ppnb.view()`` adds the converted figure, labelled, and
        :attr:`converted_totals` has it as a table.
    rates
        The :class:`Rates` given, or ``None``.
    """

    as_of: dt.date
    basis: str
    buckets: tuple[int, ...]
    labels: list[str]
    by: list[str]
    summary: pd.DataFrame
    totals: pd.DataFrame
    detail: pd.DataFrame
    converted: pd.DataFrame | None = None
    rates: Rates | None = None

    def __repr__(self) -> str:
        currencies = ", ".join(map(str, self.totals["currency"])) or "nothing open"
        shown = "summary, totals, detail" + (", converted, converted_totals"
                                             if self.rates is not None else "")
        return (f"<Aging as of {self.as_of}, {self.basis} basis, buckets "
                f"{', '.join(self.labels)}: {len(self.detail)} open invoices in "
                f"{currencies}; {len(self.summary)} rows by {', '.join(self.by) or 'currency'}"
                f"{'; ' + self.rates.label if self.rates is not None else ''}. "
                f"Tables: {shown}; .to_json()>")

    @property
    def converted_totals(self) -> pd.DataFrame | None:
        """With rates: one row, every currency's totals converted and added (``currency``
        the target, the labels and ``total`` in its minor units, ``rates_date``); else
        ``None``. The same figures the totals' ``.ppnb.view()`` shows."""
        if self.rates is None:
            return None
        return _converted(self.totals, [], [*self.labels, "total"], self.rates)

    def to_json(self) -> dict[str, Any]:
        """The ``ppnb aging --format json`` object.

        ``{"as_of": "2025-06-30", "basis": "due_date", "buckets": [labels...],
        "rows": [{<group keys>, "currency": "USD", "current": "120.00", ..., "total": "..."}],
        "totals": [{"currency": "USD", <labels>: "...", "total": "..."}]}``; amounts are exact
        decimal strings with the currency's decimals, key values are text (``None`` if
        missing). With rates, also ``"converted": {"currency", "rates_date", "rates",
        "rows", "totals"}`` in the target currency.
        """
        amounts = [*self.labels, "total"]

        def rows(frame: pd.DataFrame, keys: list[str]) -> list[dict[str, Any]]:
            out = []
            for record in frame[[*keys, "currency", *amounts]].to_dict("records"):
                currency = record["currency"]
                row: dict[str, Any] = {k: _text(record[k]) for k in keys}
                row["currency"] = currency
                row.update({a: amount_text(record[a], currency) for a in amounts})
                out.append(row)
            return out

        data = {"as_of": self.as_of.isoformat(), "basis": self.basis,
                "buckets": list(self.labels), "rows": rows(self.summary, self.by),
                "totals": rows(self.totals, [])}
        if self.rates is not None and self.converted is not None:
            totals = self.converted_totals
            assert totals is not None
            data["converted"] = {
                "currency": self.rates.target, "rates_date": self.rates.date.isoformat(),
                "rates": {c: str(r) for c, r in self.rates.rates.items()},
                "rows": rows(self.converted, self.by), "totals": rows(totals, [])}
        return data


def _text(value: Any) -> str | None:
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return None
    if isinstance(value, pd.Timestamp | dt.date):
        return value.isoformat()[:10] if isinstance(value, pd.Timestamp) else value.isoformat()
    return str(value)


def aging(
    tables: Tables,
    as_of: Any = None,
    *,
    basis: str = "due_date",
    buckets: Sequence[int] = DEFAULT_BUCKETS,
    by: str | Sequence[str] = "customer",
    clock: Callable[[], Any] | None = None,
    rates: Rates | None = None,
) -> Aging:
    """Age the receivables as they stood at the end of ``as_of``, rebuilt from the payments.

    Rules
    -----
    * **Receivable on D**: the invoice was issued (status not ``DRAFT``, and not
      ``SCHEDULED``: a scheduled invoice turns SENT/UNPAID when it goes out), its
      ``invoice_date`` is on or before D, and it was not cancelled on or before D (the UTC
      date of ``cancelled``; a CANCELLED invoice without a cancel time counts as cancelled
      at ``last_updated``, and with neither, as never receivable). Receivability starts at
      the invoice date, not the send time: the sale is dated by the invoice.
    * **Outstanding on D** = ``total_minor`` − Σ ``payments.amount_minor`` dated on or before
      D, exactly, so a partly paid invoice is aged for what is left. Payments come only from
      the payments table (PAID and MARKED_AS_PAID alike: an external payment is a payment
      row). Only positive balances are open.
    * **Refunds** give money back but do not reopen a receivable; they only reduce net sales
      in :func:`kpis`.
    * **Days past due** = D − basis date (``due_date``, or ``invoice_date``; a missing due
      date falls back to the invoice date). ``current`` is 0 or fewer days; with edges
      ``(30, 60, 90)`` then ``1-30``, ``31-60``, ``61-90`` and ``91+``.
    * **Currencies are never added together**: one row per group × currency and totals per
      currency. ``rates`` (a :class:`Rates`) adds a converted view, and only then.

    Parameters
    ----------
    tables
        The four tables (e.g. from :func:`ppnb.fetch_tables`); never the API.
    as_of
        A date, datetime (its date), Timestamp or ``"YYYY-MM-DD"``. ``None`` takes the date
        of ``clock()`` (e.g. ``client.today`` or an emulator's ``clock.now``); with neither,
        :class:`AnalysisError`: the machine's clock is never read. The date used is in
        :attr:`Aging.as_of`.
    basis
        ``"due_date"`` (default) or ``"invoice_date"``.
    buckets
        Strictly increasing positive bucket edges in days.
    by
        ``"customer"`` (recipient email, with ``customer_name``), ``"currency"`` or ``"none"``
        (one row per currency), any column of ``tables.invoices``, or a list of these.
    clock
        A callable returning the current date or datetime, used only when ``as_of`` is None.
    rates
        Optional :class:`Rates` (date, target currency, rates) for a converted view: the
        :attr:`Aging.converted` table, :attr:`Aging.converted_totals`, and a converted
        figure in ``totals.ppnb.view()``, each naming the target and the rates' date.

    Returns
    -------
    Aging
        ``summary``, ``totals``, ``detail`` and, with rates, ``converted``.

    Raises
    ------
    AnalysisError
        (a ``ValueError``) for a bad basis, buckets, ``by`` column, date, a missing as-of
        date, ``rates`` that are not :class:`Rates`, or a currency without a rate.
    """
    day = resolve_as_of(as_of, clock)
    if rates is not None and not isinstance(rates, Rates):
        raise AnalysisError("rates: give ppnb.analysis.Rates(date, target, {currency: rate}), "
                            "so that a converted total says its currency and the rates' date")
    basis = check_basis(basis)
    edges = check_buckets(buckets)
    labels = bucket_labels(edges)
    keys = resolve_by(by, tables.invoices.columns)
    book = book_of(tables)
    pairs = book.open_pairs(np.array([day_number(day)], np.int64))
    dpd, bucket = _buckets(book, pairs, np.array([day_number(day)]), basis, edges)
    summary = _as_money(_tabulate(book, pairs, bucket, keys, labels, at=None), labels)
    totals = _as_money(_with_pct(summary.groupby("currency", sort=True)[[*labels, "total"]]
                                 .sum().reset_index(), labels), labels)
    detail = _detail(book, pairs, dpd, bucket, labels)
    converted = None
    if rates is not None:
        rates.check(totals["currency"])
        converted = _converted(summary, key_names(keys), [*labels, "total"], rates)
        declare_rates(totals, rates)
    return Aging(day, basis, edges, labels, key_names(keys), summary, totals, detail, converted,
                 rates)


def aging_series(
    tables: Tables,
    dates: Sequence[Any],
    *,
    basis: str = "due_date",
    buckets: Sequence[int] = DEFAULT_BUCKETS,
    by: str | Sequence[str] = "none",
) -> pd.DataFrame:
    """Aging as of many dates at once, in long format (same rules as :func:`aging`).

    Vectorised: each invoice is expanded only over the dates on which it is open, and paid
    amounts come from one ``searchsorted`` over the sorted payments, so the cost grows with
    (invoices + open invoice-dates), not invoices × dates.

    Returns
    -------
    pandas.DataFrame
        Columns ``as_of`` (datetime64), the group keys, ``currency``, one int64 column per
        bucket label and ``total``; one row per date × group × currency with a balance,
        sorted by date, keys and currency. A row equals the matching ``summary`` row of
        ``aging(tables, date, by=by, ...)``.
    """
    basis = check_basis(basis)
    edges = check_buckets(buckets)
    labels = bucket_labels(edges)
    keys = resolve_by(by, tables.invoices.columns)
    days = np.unique(np.array([day_number(as_date(d, "dates")) for d in dates], np.int64))
    if not len(days):
        raise AnalysisError("dates: give at least one date")
    book = book_of(tables)
    pairs = book.open_pairs(days)
    _, bucket = _buckets(book, pairs, days, basis, edges)
    frame = _tabulate(book, pairs, bucket, keys, labels, at=days)
    return _as_money(frame.drop(columns=[f"pct_{label}" for label in labels]), labels)


def _as_money(frame: pd.DataFrame, labels: Sequence[str]) -> pd.DataFrame:
    """Mark the bucket and total columns (exact minor units) as money for ``.ppnb.view()``."""
    return declare(frame, **dict.fromkeys([*labels, "total"], "money"))


def _buckets(book: Book, pairs: Pairs, days: np.ndarray, basis: str,
             edges: tuple[int, ...]) -> tuple[np.ndarray, np.ndarray]:
    """Days past due and bucket index of each open pair."""
    dpd = days[pairs.at] - book.basis_day(basis)[pairs.inv]
    return dpd, np.searchsorted(np.array((0, *edges)), dpd, side="left")


def _tabulate(book: Book, pairs: Pairs, bucket: np.ndarray, keys: list[str],
              labels: list[str], at: np.ndarray | None) -> pd.DataFrame:
    """Sum outstanding amounts per (date,) group keys × currency × bucket, wide by bucket.

    The groups are integers (:meth:`Book.groups`), so the sums are exact int64 additions
    into a small array, and the key columns are read once per output row.
    """
    group, member = book.groups(keys)
    cell = group[pairs.inv]
    if at is not None:
        cell = pairs.at * len(member) + cell
    cells, cell = np.unique(cell, return_inverse=True)
    sums = np.zeros((len(cells), len(labels)), np.int64)
    np.add.at(sums, (cell, bucket), pairs.outstanding)
    columns: dict[str, Any] = {}
    if at is not None:
        columns["as_of"] = at[cells // len(member)].astype("datetime64[D]").astype(
            "datetime64[ns]")
    rows = member[cells % len(member)]
    columns.update(book.key_columns(keys, rows))
    columns["currency"] = np.asarray(book.currencies, dtype=object)[book.currency_codes[rows]]
    columns.update(zip(labels, sums.T, strict=True))
    wide = pd.DataFrame(columns)
    wide["total"] = sums.sum(axis=1)
    return _with_pct(wide, labels)


def _with_pct(frame: pd.DataFrame, labels: list[str]) -> pd.DataFrame:
    """Add ``pct_<label>``: each bucket as a percent of the row's total (float, display)."""
    total = frame["total"].to_numpy(np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        for label in labels:
            frame[f"pct_{label}"] = 100.0 * frame[label].to_numpy(np.float64) / total
    return frame


def _detail(book: Book, pairs: Pairs, dpd: np.ndarray, bucket: np.ndarray,
            labels: list[str]) -> pd.DataFrame:
    inv = book.invoices
    dates = inv["invoice_date"].to_numpy()[pairs.inv]
    ids = inv["id"].array.take(pairs.inv)
    id_rank, id_values = pd.factorize(ids, sort=True)
    # sorted by customer, invoice date, id (missing customers and ids last), as a stable
    # sort_values would, but on integer ranks instead of text
    order = np.lexsort((np.where(id_rank < 0, len(id_values), id_rank), dates.view(np.int64),
                        book.customer_rank(pairs.inv)))
    rows = pairs.inv[order]
    return pd.DataFrame({
        "id": ids.take(order),
        "number": inv["number"].array.take(rows),
        **book.key_columns(["customer"], rows),
        "currency": np.asarray(book.currencies, dtype=object)[book.currency_codes[rows]],
        "invoice_date": dates[order],
        "due_date": inv["due_date"].to_numpy()[rows],
        "total_minor": book.total[rows],
        "paid_minor": pairs.paid[order],
        "outstanding_minor": pairs.outstanding[order],
        "days_past_due": dpd[order].astype(np.int64),
        "bucket": np.asarray(labels, dtype=object)[bucket[order]],
    })


def _converted(frame: pd.DataFrame, keys: list[str], amounts: list[str],
               rates: Rates) -> pd.DataFrame:
    """One row per group of ``frame`` by ``keys`` (without keys, one row in all, zeros when
    ``frame`` is empty): each ``amounts`` column converted into the target and added across
    currencies (:meth:`Rates.convert`, rounded once per figure)."""
    group = (frame.groupby(keys, dropna=False, sort=False).ngroup().to_numpy() if keys
             else np.zeros(len(frame), np.int64))
    size = int(group.max()) + 1 if len(frame) else int(not keys)
    counts = np.bincount(group, minlength=size)
    members = np.split(np.argsort(group, kind="stable"), np.cumsum(counts)[:-1])
    currency = frame["currency"].tolist()
    columns: dict[str, Any] = {k: [frame[k].iat[m[0]] for m in members] for k in keys}
    columns["currency"] = [rates.target] * size
    for a in amounts:
        values = frame[a].tolist()
        columns[a] = np.array([rates.convert((values[i], currency[i]) for i in m)
                               for m in members], np.int64)
    converted = pd.DataFrame(columns)
    converted["rates_date"] = pd.Timestamp(rates.date)
    return _as_money(converted, amounts[:-1])
