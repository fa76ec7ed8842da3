"""Money as money: how ppnb shows its exact tables to a person.

Analysis results keep exact integers in each currency's minor units (``*_minor`` columns, and
the aging's bucket columns), because sums must be exact. A person should read ``1,316.93 USD``,
not ``131693``. One design serves every notebook and report: a ``.ppnb`` accessor on pandas
DataFrames (registered on ``import ppnb``) whose :meth:`PpnbAccessor.view` returns a copy made
for reading:

* **money** in its row's currency with that currency's decimals and thousands separators
  (``1,316.93 USD``, ``4,947,658 JPY``); ``open_minor`` is shown as ``open``, and a float
  twin (``total`` beside ``total_minor``) is dropped;
* **percentages** to one decimal (``58.1 %``), from 0–100 percent columns (``pct_*``, shown
  as ``% …``, and ``*_pct``) and 0–1 share columns (``*_share``);
* **dates** as dates (``2027-01-15``, no ``00:00:00``), times as ``2027-01-15 09:00 UTC``;
* other numbers with thousands separators, days to one decimal.

What a column is comes from its name and dtype, or from ``frame.attrs["ppnb.kinds"]`` (a
``{column: kind}`` map that the analysis functions set on their results, e.g. the aging's
bucket columns are money and the CEI is a percent). The frame itself is never changed; the
view is for display only, never for arithmetic.

A table with one row per currency may also carry rates (:func:`declare_rates`, e.g. the
aging's ``totals`` when ``aging(..., rates=Rates(...))`` was given): its view then adds one
converted figure per money column, labelled with the target currency and the rates' date
(``USD at rates of 2025-06-30``), computed from the table's own rows. Without rates there
is no converted figure: currencies are never added.

>>> aged.totals.ppnb.view(side_by_side=True)     # doctest: +SKIP
>>> customer_view(tables, as_of).ppnb.view()      # doctest: +SKIP
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any, Protocol

import pandas as pd

from .money import from_minor

__all__ = ["KINDS", "Converter", "PpnbAccessor", "cell_text", "column_kinds", "declare",
           "declare_rates", "format_money", "visible"]

#: The kinds a column can be shown as.
KINDS = ("text", "money", "date", "datetime", "int", "number", "pct", "share")

_KINDS_ATTR = "ppnb.kinds"
_RATES_ATTR = "ppnb.rates"


class Converter(Protocol):
    """What :func:`declare_rates` takes (:class:`ppnb.analysis.Rates` is one): a target
    currency, a label naming it and the rates' date, and exact conversion."""

    @property
    def target(self) -> str: ...

    @property
    def label(self) -> str: ...

    def convert(self, amounts: Iterable[tuple[int, str]]) -> int:
        """The sum of ``(minor units, currency)`` amounts in target minor units."""
        ...


#: Characters that act instead of showing: the C0/C1 controls (ESC starts terminal escape
#: sequences, BEL rings, CR and backspace overwrite), line and paragraph separators, and the
#: bidirectional controls that reorder what follows them (U+202E shows text backwards), and
#: the zero-width characters that only hide inside a name (U+200B, U+2060, U+FEFF; the
#: joiners U+200C/U+200D are kept: scripts and emoji need them).
_HIDDEN = re.compile("[\x00-\x1f\x7f-\x9f\u061c\u200b\u200e\u200f\u2028\u2029\u202a-\u202e"
                     "\u2060\u2066-\u2069\ufeff]")


def visible(text: str) -> str:
    """``text`` with every character that acts instead of showing written as an escape.

    ESC becomes ``\\x1b``, BEL ``\\x07``, a newline ``\\n``, the right-to-left override
    ``\\u202e``: safe to print to a terminal or draw in a chart, and nothing a person reads is
    hidden, rung, recoloured or reordered. Everything else, any script included, is kept.
    """
    return _HIDDEN.sub(_escape, text)


def _escape(match: re.Match[str]) -> str:
    code = ord(match.group())
    escaped = {0x09: "\\t", 0x0A: "\\n", 0x0D: "\\r"}.get(code)
    if escaped:
        return escaped
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def format_money(minor: int, currency: str) -> str:
    """``123456`` USD → ``"1,234.56"``: an exact amount with its currency's decimals."""
    return f"{from_minor(int(minor), currency):,}"


def cell_text(value: Any, kind: str, currency: str | None = None) -> str:
    """One value as a person reads it (``""`` for a missing one).

    ``money`` needs the row's ``currency`` and appends it unless it is ``None``; ``pct`` is a
    0–100 percent and ``share`` a 0–1 fraction, both shown to one decimal.
    """
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return ""
    if kind == "money":
        if currency is None or pd.isna(currency):
            return f"{int(value):,} (minor units)"
        return f"{format_money(int(value), str(currency))} {currency}"
    if kind == "date":
        return pd.Timestamp(value).strftime("%Y-%m-%d")
    if kind == "datetime":
        stamp = pd.Timestamp(value)
        zone = " UTC" if stamp.tzinfo is not None else ""
        return (stamp.tz_convert("UTC") if zone else stamp).strftime("%Y-%m-%d %H:%M") + zone
    if kind == "int":
        return f"{int(value):,}"
    if kind == "number":
        return f"{float(value):,.1f}"
    if kind == "pct":
        return f"{float(value):.1f} %"
    if kind == "share":
        return f"{float(value) * 100:.1f} %"
    return str(value)


def column_kinds(frame: pd.DataFrame) -> dict[str, str]:
    """How each column of ``frame`` is shown: its declared kind, or one read off its name."""
    declared: Mapping[str, str] = frame.attrs.get(_KINDS_ATTR, {})
    return {name: declared.get(name) or _kind(str(name), frame[name])
            for name in frame.columns}


def _kind(name: str, column: pd.Series) -> str:
    dtype = column.dtype
    if name.endswith("_minor") and pd.api.types.is_integer_dtype(dtype):
        return "money"
    if isinstance(dtype, pd.DatetimeTZDtype):
        return "datetime"
    if pd.api.types.is_datetime64_dtype(dtype):
        times = column.dropna()
        return "date" if (times == times.dt.normalize()).all() else "datetime"
    if pd.api.types.is_bool_dtype(dtype):
        return "text"
    if name.startswith("pct_") or name.endswith("_pct"):
        return "pct"
    if name.endswith("_share"):
        return "share"
    if pd.api.types.is_integer_dtype(dtype):
        return "int"
    if pd.api.types.is_float_dtype(dtype):
        return "number"
    return "text"


def declare(frame: pd.DataFrame, **kinds: str) -> pd.DataFrame:
    """Record on ``frame`` how some of its columns are shown (for analysis results).

    ``declare(summary, total="money")``; keyword names that are not identifiers go through
    ``declare(frame, **{"1-30": "money"})``. Returns ``frame``.
    """
    unknown = {kind for kind in kinds.values() if kind not in KINDS}
    if unknown:
        raise ValueError(f"unknown display kinds {sorted(unknown)}; use one of {KINDS}")
    frame.attrs[_KINDS_ATTR] = {**frame.attrs.get(_KINDS_ATTR, {}), **kinds}
    return frame


def declare_rates(frame: pd.DataFrame, rates: Converter) -> pd.DataFrame:
    """Record ``rates`` on a table with one row per currency, so that its view adds the
    converted figure of each money column (see the module notes). Returns ``frame``."""
    frame.attrs[_RATES_ATTR] = rates
    return frame


@pd.api.extensions.register_dataframe_accessor("ppnb")
class PpnbAccessor:
    """``frame.ppnb``: the display view of a ppnb table (see the module notes)."""

    def __init__(self, frame: pd.DataFrame) -> None:
        self._frame = frame

    def kinds(self) -> dict[str, str]:
        """How each column is shown (``money``, ``pct``, ``date``, …)."""
        return column_kinds(self._frame)

    def view(self, *, side_by_side: bool = False) -> pd.DataFrame:
        """A copy of the table as text a person reads: money as money, and so on.

        Parameters
        ----------
        side_by_side
            For a table with one row per currency (the aging's ``totals``, the KPIs): one
            column per currency instead, so currencies stand side by side and are never
            added up.

        Raises
        ------
        ValueError
            ``side_by_side`` on a table without one row per currency.
        """
        frame, kinds = self._frame, self.kinds()
        currency = _currencies(frame)
        shown: dict[str, str] = {}  # label shown → column
        for name, kind in kinds.items():
            label = str(name)
            if kind == "money" and label.endswith("_minor"):
                label = label.removesuffix("_minor")
            elif kind == "pct" and label.startswith("pct_"):
                label = f"% {label.removeprefix('pct_')}"
            elif f"{name}_minor" in kinds:
                continue  # a float twin of an exact column: display only, so shown once
            shown[label] = name
        view = pd.DataFrame({label: [cell_text(value, kinds[name], row_currency)
                                     for value, row_currency in zip(frame[name].tolist(),
                                                                    currency, strict=True)]
                             for label, name in shown.items()}, index=frame.index, dtype=object)
        per_currency = "currency" in frame.columns and frame["currency"].is_unique
        if side_by_side and not per_currency:
            raise ValueError("side_by_side needs a table with one row per currency "
                             "(a 'currency' column without repeats)")
        rates: Converter | None = frame.attrs.get(_RATES_ATTR)
        if rates is not None and per_currency and len(frame):
            view = pd.concat([view, pd.DataFrame([_converted(frame, kinds, shown, rates)],
                                                 index=[rates.label], dtype=object)])
        if not side_by_side:
            return view
        view.index = pd.Index(view["currency"].tolist(), name="currency")
        return view.drop(columns="currency").T


def _converted(frame: pd.DataFrame, kinds: dict[str, str], shown: dict[str, str],
               rates: Converter) -> dict[str, str]:
    """The converted row of a per-currency table's view: each money column's rows summed
    in the target currency, ``currency`` naming the target and the rates' date, every other
    cell empty."""
    currencies = frame["currency"].tolist()
    row = dict.fromkeys(shown, "")
    for label, name in shown.items():
        if kinds[name] == "money":
            amounts = [(int(v), str(c)) for v, c in zip(frame[name].tolist(), currencies,
                                                        strict=True) if not pd.isna(v)]
            row[label] = cell_text(rates.convert(amounts), "money", rates.target)
        elif name == "currency":
            row[label] = rates.label
    return row


def _currencies(frame: pd.DataFrame) -> list[Any]:
    """Each row's currency: its ``currency`` column, or index level, else ``None``."""
    if "currency" in frame.columns:
        return frame["currency"].tolist()
    if "currency" in frame.index.names:
        return frame.index.get_level_values("currency").tolist()
    return [None] * len(frame)
