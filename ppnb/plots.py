"""Charts of the receivables analysis, as matplotlib Figures.

Every function takes a result of :mod:`ppnb.analysis` and returns a
:class:`matplotlib.figure.Figure` built with the object API (no ``pyplot`` state), so the
charts work headless, in threads and in reports as well as in a notebook, where a Figure
displays itself. Each figure is about 10 inches wide (a notebook's width), names the
currency and the as-of date (or the span of dates) it shows, and draws **one panel per
currency**: amounts in different currencies are never added or put on one axis.

Amounts arrive as int64 minor units; they become floats here only to be drawn. An input
with nothing to show gives a figure that says so instead of raising.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
from matplotlib import colormaps
from matplotlib.axes import Axes
from matplotlib.dates import AutoDateLocator, ConciseDateFormatter
from matplotlib.figure import Figure
from matplotlib.patches import Patch
from matplotlib.ticker import FuncFormatter, PercentFormatter

from .money import decimals

__all__ = [
    "aging_bars",
    "aging_heatmap",
    "aging_trend",
    "bucket_colors",
    "bucket_columns",
    "cohort_curves",
    "forecast_fan",
    "group_label",
    "kpi_trend",
    "predicted_vs_actual",
    "roll_rate_heatmap",
    "worklist_bars",
]

WIDTH = 10.0  # inches: the width of a notebook's output area
_LABEL = re.compile(r"^(current|\d+-\d+|\d+\+)$")
_OTHERS = 6  # stacked segments per bar before the rest is lumped into "others"


# --- shared helpers ---------------------------------------------------------------------------


def bucket_columns(frame: pd.DataFrame) -> list[str]:
    """The aging-bucket columns of ``frame`` in order (``current``, ``1-30``, …, ``91+``).

    Bucket labels have one style whatever the edges (see ``ppnb.analysis.bucket_labels``),
    so they are recognised by name; the frame's column order is their order.
    """
    return [str(c) for c in frame.columns if _LABEL.match(str(c))]


def group_label(row: pd.Series, keys: Sequence[str]) -> str:
    """A readable name for one group of an aging summary.

    A customer is shown by its name when it has one, else by its key; other group keys
    are joined with `` / ``.
    """
    shown = [k for k in keys if k != "currency"]
    if "customer_name" in shown and "customer" in shown:
        name = row["customer_name"]
        shown.remove("customer_name")
        if not pd.isna(name) and str(name):
            shown[shown.index("customer")] = "customer_name"
    parts = [str(row[k]) for k in shown if not pd.isna(row[k])]
    return " / ".join(parts) or "(none)"


def _day(value: Any) -> str:
    """A date as ``YYYY-MM-DD`` (accepts dates, datetimes, Timestamps and ISO strings)."""
    if isinstance(value, str):
        return value[:10]
    return pd.Timestamp(value).strftime("%Y-%m-%d")


def _units(minor: Any, currency: str) -> np.ndarray:
    """Minor units as floats in currency units, for drawing only."""
    return np.asarray(minor, dtype="float64") / 10 ** decimals(currency)


def _compact(value: float) -> str:
    """``1234567`` → ``1.2M``: short enough to print inside a heatmap cell."""
    size = abs(value)
    for limit, suffix in ((1e9, "G"), (1e6, "M"), (1e3, "k")):
        if size >= limit:
            return f"{value / limit:.1f}{suffix}"
    return f"{value:.0f}"


_THOUSANDS = FuncFormatter(lambda value, _pos: f"{value:,.0f}")


def bucket_colors(count: int) -> list[Any]:
    """Colours for ``count`` aging buckets: green for current through dark red for the
    oldest, the same on every chart (and in the Excel report's charts)."""
    return list(colormaps["RdYlGn_r"](np.linspace(0.08, 0.95, count)))


def _figure(panels: int, *, height: float, ncols: int = 1) -> tuple[Figure, list[Axes]]:
    """A notebook-wide figure with ``panels`` axes on a grid of ``ncols`` columns."""
    nrows = max(1, -(-panels // ncols))
    fig = Figure(figsize=(WIDTH, height * nrows), layout="constrained")
    grid = fig.subplots(nrows, ncols, squeeze=False)
    axes = list(grid.ravel())
    for extra in axes[panels:]:
        extra.set_visible(False)
    return fig, axes[:panels]


def _empty(title: str, message: str) -> Figure:
    """A figure that says there is nothing to draw (instead of an error or blank axes)."""
    fig = Figure(figsize=(WIDTH, 2.5), layout="constrained")
    ax = fig.subplots()
    ax.set_axis_off()
    ax.set_title(title)
    ax.text(0.5, 0.5, message, ha="center", va="center", fontsize=12, color="0.35",
            transform=ax.transAxes)
    return fig


def _currencies(frame: pd.DataFrame) -> list[str]:
    return sorted(str(c) for c in frame["currency"].dropna().unique())


def _basis(aging: Any) -> str:
    return str(aging.basis).replace("_", " ")


# --- aging ------------------------------------------------------------------------------------


def aging_bars(aging: Any) -> Figure:
    """Stacked bars of what is outstanding in each age bucket, one panel per currency.

    Each bar is a bucket; its segments are the largest groups of the aging (customers by
    default: the six largest in that currency, the rest as "others"). The bar's total is
    printed on top.

    Parameters
    ----------
    aging
        An ``ppnb.analysis.Aging`` (from ``ppnb.aging``).
    """
    as_of = _day(aging.as_of)
    title = f"Receivables aging as of {as_of} ({_basis(aging)} basis)"
    summary: pd.DataFrame = aging.summary
    labels = list(aging.labels)
    if summary.empty or not summary["total"].any():
        return _empty(title, f"Nothing outstanding as of {as_of}.")
    currencies = _currencies(summary)
    fig, axes = _figure(len(currencies), height=3.6, ncols=min(2, len(currencies)))
    fig.suptitle(title, fontsize=13)
    keys = [k for k in aging.by if k != "currency"]
    x = np.arange(len(labels))
    for ax, currency in zip(axes, currencies, strict=True):
        rows = summary[summary["currency"] == currency].sort_values("total", ascending=False)
        if keys and len(rows) > 1:
            top = rows.iloc[:_OTHERS]
            names = [group_label(row, keys) for _, row in top.iterrows()]
            stacks = [_units(top[labels].to_numpy()[i], currency) for i in range(len(top))]
            rest = rows.iloc[_OTHERS:]
            if len(rest):
                names.append(f"{len(rest)} others")
                stacks.append(_units(rest[labels].to_numpy().sum(axis=0), currency))
            colors = colormaps["tab10"](np.arange(len(stacks)) % 10)
            bottom = np.zeros(len(labels))
            for name, values, color in zip(names, stacks, colors, strict=True):
                ax.bar(x, values, bottom=bottom, label=name[:28], color=color, width=0.7)
                bottom += values
            ax.legend(fontsize=7, loc="upper right", frameon=False)
        else:
            bottom = _units(rows[labels].to_numpy().sum(axis=0), currency)
            ax.bar(x, bottom, color=bucket_colors(len(labels)), width=0.7)
        for position, value in zip(x, bottom, strict=True):
            ax.annotate(_compact(value), (position, value), ha="center", va="bottom",
                        fontsize=8, xytext=(0, 2), textcoords="offset points")
        ax.set_xticks(x, labels)
        ax.set_xlabel("days past due" if aging.basis == "due_date" else "days since invoice")
        ax.set_ylabel(f"outstanding ({currency})")
        ax.yaxis.set_major_formatter(_THOUSANDS)
        ax.set_title(f"{currency}, as of {as_of}", fontsize=11)
        ax.margins(y=0.12)
    return fig


def aging_heatmap(aging: Any, top: int = 20) -> Figure:
    """Group × bucket heatmap of the ``top`` groups with the most outstanding, per currency.

    Cells show the amount (e.g. ``12.3k``) and are coloured by it, on one colour scale
    per currency panel.

    Parameters
    ----------
    aging
        An ``ppnb.analysis.Aging``.
    top
        How many groups (customers by default) to show per currency, largest first.
    """
    if top < 1:
        raise ValueError(f"top must be at least 1, got {top}")
    as_of = _day(aging.as_of)
    title = f"Largest balances by age as of {as_of} ({_basis(aging)} basis)"
    summary: pd.DataFrame = aging.summary
    labels = list(aging.labels)
    summary = summary[summary["total"] > 0] if not summary.empty else summary
    if summary.empty:
        return _empty(title, f"Nothing outstanding as of {as_of}.")
    currencies = _currencies(summary)
    keys = [k for k in aging.by if k != "currency"] or ["currency"]
    blocks = [summary[summary["currency"] == c].nlargest(top, "total") for c in currencies]
    heights = [len(b) for b in blocks]
    fig = Figure(figsize=(WIDTH, 1.0 + sum(0.3 * h + 0.9 for h in heights)),
                 layout="constrained")
    axes = fig.subplots(len(blocks), 1, squeeze=False,
                        gridspec_kw={"height_ratios": [h + 3 for h in heights]})[:, 0]
    fig.suptitle(title, fontsize=13)
    for ax, currency, block in zip(axes, currencies, blocks, strict=True):
        values = _units(block[labels].to_numpy(), currency)
        image = ax.imshow(values, aspect="auto", cmap="YlOrRd", vmin=0)
        limit = values.max() or 1.0
        for (i, j), value in np.ndenumerate(values):
            if value:
                ax.text(j, i, _compact(value), ha="center", va="center", fontsize=7,
                        color="white" if value > 0.6 * limit else "black")
        ax.set_xticks(range(len(labels)), labels)
        ax.xaxis.tick_top()
        names = [group_label(row, keys)[:32] for _, row in block.iterrows()]
        ax.set_yticks(range(len(block)), names, fontsize=8)
        ax.set_title(f"{currency}: top {len(block)} by outstanding, as of {as_of}",
                     fontsize=11)
        fig.colorbar(image, ax=ax, label=currency, format=_THOUSANDS, pad=0.01)
    return fig


def aging_trend(series: pd.DataFrame) -> Figure:
    """Outstanding by age bucket over time (stacked areas), one panel per currency.

    Parameters
    ----------
    series
        ``ppnb.analysis.aging_series(...)``: one row per as-of date × group × currency
        with one minor-unit column per bucket. Groups are added up within each currency.
    """
    title = "Receivables by age over time"
    if series.empty:
        return _empty(title, "No aging dates to show.")
    labels = bucket_columns(series)
    dates = pd.to_datetime(series["as_of"])
    span = f"{_day(dates.min())} to {_day(dates.max())}"
    fig_title = f"{title}, as of {span}"
    totals = series.assign(as_of=dates).groupby(["currency", "as_of"], sort=True)[labels].sum()
    every_date = pd.DatetimeIndex(sorted(dates.unique()), name="as_of")
    currencies = [str(c) for c in totals.index.get_level_values("currency").unique()]
    fig, axes = _figure(len(currencies), height=3.2, ncols=min(2, len(currencies)))
    fig.suptitle(fig_title, fontsize=13)
    colors = bucket_colors(len(labels))
    for ax, currency in zip(axes, currencies, strict=True):
        # a date on which nothing in this currency was open has no row: it is a zero
        block = totals.xs(currency, level="currency").reindex(every_date, fill_value=0)
        stacks = [_units(block[label].to_numpy(), currency) for label in labels]
        ax.stackplot(block.index.to_numpy(), stacks, labels=labels, colors=colors, alpha=0.9)
        ax.set_ylabel(f"outstanding ({currency})")
        ax.yaxis.set_major_formatter(_THOUSANDS)
        _date_axis(ax)
        ax.set_title(f"{currency}, {span}", fontsize=11)
        ax.margins(x=0, y=0.1)
    handles, names = axes[0].get_legend_handles_labels()
    fig.legend(handles, names, loc="outside lower center", ncols=len(labels), frameon=False,
               title="days past the basis date")
    return fig


def _date_axis(ax: Axes) -> None:
    """Short date tick labels that do not overlap at notebook width."""
    locator = AutoDateLocator(maxticks=8)
    ax.xaxis.set_major_locator(locator)
    ax.xaxis.set_major_formatter(ConciseDateFormatter(locator))


# --- KPIs, roll rates, cohorts ----------------------------------------------------------------


def kpi_trend(kpis: pd.DataFrame) -> Figure:
    """DSO (simple and count-back), best possible DSO and CEI by month, one panel per currency.

    Days are on the left axis; CEI (percent) on the right.

    Parameters
    ----------
    kpis
        ``ppnb.analysis.kpi_series(...)``: one row per currency × period ``end``.
    """
    title = "Collection KPIs by month"
    if kpis.empty:
        return _empty(title, "No KPI periods to show.")
    ends = pd.to_datetime(kpis["end"])
    span = f"{_day(ends.min())} to {_day(ends.max())}"
    currencies = _currencies(kpis)
    fig, axes = _figure(len(currencies), height=3.4)
    fig.suptitle(f"{title}, periods ending {span}", fontsize=13)
    lines = (("dso_simple", "DSO (simple)", "-", "tab:blue"),
             ("dso_countback", "DSO (count-back)", "--", "tab:orange"),
             ("best_dso", "best possible DSO", ":", "tab:purple"))
    for ax, currency in zip(axes, currencies, strict=True):
        rows = kpis[kpis["currency"] == currency].assign(end=ends).sort_values("end")
        for column, name, style, color in lines:
            ax.plot(rows["end"], rows[column].astype("float64"), style, color=color,
                    marker="o", markersize=3, label=name)
        ax.set_ylabel("days")
        _date_axis(ax)
        right = ax.twinx()
        right.plot(rows["end"], rows["cei"].astype("float64"), color="tab:green", marker="s",
                   markersize=3, label="CEI")
        right.set_ylabel("CEI (%)")
        right.yaxis.set_major_formatter(PercentFormatter(100))
        handles, names = ax.get_legend_handles_labels()
        more, more_names = right.get_legend_handles_labels()
        ax.legend(handles + more, names + more_names, fontsize=8, loc="upper left",
                  ncols=4, frameon=False)
        ax.set_title(f"{currency}, periods ending {span}", fontsize=11)
        ax.margins(y=0.2)
    return fig


def roll_rate_heatmap(roll: Any) -> Figure:
    """Month-end to month-end roll rates (share of the amount moving from each bucket to each
    bucket, paid or cancelled), one heatmap per currency.

    Parameters
    ----------
    roll
        ``ppnb.analysis.roll_rates(...)``: its ``rates`` (index currency × from-state,
        columns to-states) are drawn; the dates come from its ``transitions``
        (``from_date``, ``to_date``).
    """
    rates: pd.DataFrame = roll.rates
    span = _roll_span(roll)
    title = f"Roll rates between month ends{', ' + span if span else ''}"
    if rates.empty:
        return _empty(title, "No transitions between the dates given.")
    currencies = [str(c) for c in rates.index.get_level_values(0).unique()]
    fig, axes = _figure(len(currencies), height=3.6, ncols=min(2, len(currencies)))
    fig.suptitle(title, fontsize=13)
    for ax, currency in zip(axes, currencies, strict=True):
        block = rates.xs(currency, level=0).astype("float64")
        values = block.to_numpy()
        ax.imshow(values, cmap="Blues", vmin=0, vmax=1, aspect="auto")
        for (i, j), value in np.ndenumerate(values):
            if value and not np.isnan(value):
                ax.text(j, i, f"{value:.0%}", ha="center", va="center", fontsize=7,
                        color="white" if value > 0.6 else "black")
        ax.set_xticks(range(values.shape[1]), [str(c) for c in block.columns], fontsize=8,
                      rotation=30)
        ax.set_yticks(range(values.shape[0]), [str(r) for r in block.index], fontsize=8)
        ax.set_xlabel("to (next month end)")
        ax.set_ylabel("from")
        ax.set_title(f"{currency}{', ' + span if span else ''}", fontsize=11)
    return fig


def _roll_span(roll: Any) -> str:
    """The first and last date of a roll-rate analysis, from its transitions."""
    transitions: pd.DataFrame = roll.transitions
    if transitions.empty:
        return ""
    return f"{_day(transitions['from_date'].min())} to {_day(transitions['to_date'].max())}"


def cohort_curves(curves: pd.DataFrame, *, as_of: Any = None) -> Figure:
    """Collection curves by invoice cohort: the share of the amount collected (left) and the
    Kaplan–Meier probability that an invoice is paid (right), by days since issue.

    Parameters
    ----------
    curves
        ``ppnb.analysis.cohort_curves(...)``: long, one row per cohort × day. With a
        ``currency`` column, each currency gets its own row of panels.
    as_of
        The as-of date to print; default ``curves.attrs["as_of"]`` when present.
    """
    as_of = as_of if as_of is not None else curves.attrs.get("as_of")
    when = f", as of {_day(as_of)}" if as_of is not None else ""
    title = f"Collection curves by invoice cohort{when}"
    if curves.empty:
        return _empty(title, "No invoices in any cohort.")
    currencies = _currencies(curves) if "currency" in curves.columns else [None]
    fig = Figure(figsize=(WIDTH, 3.8 * len(currencies)), layout="constrained")
    grid = fig.subplots(len(currencies), 2, squeeze=False)
    fig.suptitle(title, fontsize=13)
    for (share_ax, km_ax), currency in zip(grid, currencies, strict=True):
        rows = curves if currency is None else curves[curves["currency"] == currency]
        cohorts = sorted(rows["cohort"].astype(str).unique())
        colors = colormaps["viridis"](np.linspace(0, 0.9, len(cohorts)))
        for cohort, color in zip(cohorts, colors, strict=True):
            one = rows[rows["cohort"].astype(str) == cohort].sort_values("days")
            share_ax.plot(one["days"], one["collected_share"].astype("float64"), color=color,
                          label=cohort)
            km_ax.step(one["days"], one["km_paid"].astype("float64"), where="post",
                       color=color, label=cohort)
        prefix = f"{currency}: " if currency else ""
        share_ax.set_title(f"{prefix}share of amount collected{when}", fontsize=11)
        km_ax.set_title(f"{prefix}invoices paid (Kaplan–Meier){when}", fontsize=11)
        for ax in (share_ax, km_ax):
            ax.set_xlabel("days since invoice date")
            ax.yaxis.set_major_formatter(PercentFormatter(1))
            ax.set_ylim(0, 1.02)
            ax.grid(alpha=0.3)
        km_ax.legend(fontsize=7, loc="lower right", ncols=2 if len(cohorts) > 8 else 1,
                     frameon=False, title="cohort", title_fontsize=7)
    return fig


# --- collections intelligence -----------------------------------------------------------------


def forecast_fan(forecast: pd.DataFrame) -> Figure:
    """The cash forecast, one row of panels per currency: expected collections per week
    with their 80% band (left), and collected so far with its widening 80% fan (right).

    Parameters
    ----------
    forecast
        ``ppnb.analysis.cash_forecast(...)`` (its ``attrs["as_of"]`` is printed).
    """
    when = _as_of(forecast)
    title = f"Cash forecast from the open invoices{when}"
    if forecast.empty:
        return _empty(title, "No open invoices to forecast.")
    currencies = _currencies(forecast)
    fig = Figure(figsize=(WIDTH, 3.4 * len(currencies)), layout="constrained")
    grid = fig.subplots(len(currencies), 2, squeeze=False)
    fig.suptitle(title, fontsize=13)
    for (weekly, fan), currency in zip(grid, currencies, strict=True):
        rows = forecast[forecast["currency"] == currency].sort_values("week")
        start = pd.to_datetime(rows["start"]).to_numpy()
        expected = _units(rows["expected_minor"], currency)
        low, high = _units(rows["low_minor"], currency), _units(rows["high_minor"], currency)
        weekly.bar(start, expected, width=np.timedelta64(5, "D"), align="edge",
                   color="tab:blue", alpha=0.75, label="expected")
        weekly.errorbar(start + np.timedelta64(60, "h"), expected,
                        yerr=[np.maximum(expected - low, 0), np.maximum(high - expected, 0)],
                        fmt="none", ecolor="0.25", capsize=2, label="80% band")
        weekly.set_title(f"{currency}: collections per week{when}", fontsize=11)
        weekly.legend(fontsize=8, frameon=False, loc="upper right")
        end = pd.to_datetime(rows["end"]).to_numpy() + np.timedelta64(1, "D")
        fan.fill_between(end, _units(rows["cumulative_low_minor"], currency),
                         _units(rows["cumulative_high_minor"], currency), color="tab:blue",
                         alpha=0.25, label="80% band")
        fan.plot(end, _units(rows["cumulative_minor"], currency), color="tab:blue",
                 marker="o", markersize=3, label="expected")
        fan.axhline(_units(rows["open_minor"].iloc[:1], currency)[0], color="0.4", ls=":",
                    label="open on the as-of date")
        fan.set_title(f"{currency}: cumulative collections{when}", fontsize=11)
        fan.legend(fontsize=8, frameon=False, loc="lower right")
        for ax in (weekly, fan):
            ax.set_ylabel(currency)
            ax.yaxis.set_major_formatter(_THOUSANDS)
            _date_axis(ax)
            ax.set_ylim(bottom=0)
            ax.grid(alpha=0.3)
    return fig


def predicted_vs_actual(backtest: pd.DataFrame) -> Figure:
    """Predicted against actual payment dates, in days after the prediction day: each paid
    invoice's median with its 80% interval, the diagonal where they agree, and the
    invoices still open at the end (censored: their actual date is not known yet).

    Parameters
    ----------
    backtest
        ``ppnb.analysis.backtest(...)`` (or any frame with ``expected_date``, ``low``,
        ``high``, ``actual_date`` and ``attrs["as_of"]``). Days, not money: currencies share
        one panel.
    """
    as_of = pd.Timestamp(backtest.attrs.get("as_of", backtest["expected_date"].min()))
    until = backtest.attrs.get("until")
    span = f"predicted on {_day(as_of)}" + (f", paid by {_day(until)}" if until else "")
    title = f"Predicted vs actual payment dates, {span}"
    if backtest.empty:
        return _empty(title, "No open invoices on the prediction day.")

    def days(column: str) -> np.ndarray:
        return (pd.to_datetime(backtest[column]) - as_of).dt.days.to_numpy(np.float64)

    actual, median = days("actual_date"), days("expected_date")
    low, high = days("low"), days("high")
    fig = Figure(figsize=(WIDTH, 5.2), layout="constrained")
    ax = fig.subplots()
    fig.suptitle(title, fontsize=13)
    paid = ~np.isnan(actual)
    dated = paid & ~np.isnan(median)
    still = ~paid & ~np.isnan(median)
    edge = float((pd.Timestamp(until) - as_of).days) if until is not None else np.nan
    shown = [edge] if still.any() else []  # the censoring edge, when something is open
    top = 1.1 * float(np.nanmax(np.concatenate((actual[paid], median[dated], shown,
                                                 [10.0]))))
    error = np.abs(median[dated] - actual[dated])
    median = np.minimum(median, top)  # far-off medians drawn at the top edge
    inside = paid & (np.nan_to_num(low, nan=np.inf) <= actual) & (
        actual <= np.nan_to_num(high, nan=np.inf))
    ax.errorbar(actual[dated], median[dated],
                yerr=[median[dated] - np.minimum(np.nan_to_num(low[dated], nan=top), top),
                      np.minimum(np.nan_to_num(high[dated], nan=top), top) - median[dated]],
                fmt="none", ecolor="0.78", elinewidth=0.8)
    ax.scatter(actual[dated & inside], median[dated & inside], s=14, color="tab:blue",
               label="actual inside the 80% interval")
    ax.scatter(actual[dated & ~inside], median[dated & ~inside], s=14, color="tab:red",
               label="actual outside it")
    beyond = paid & np.isnan(median)
    if beyond.any():
        ax.scatter(actual[beyond], np.full(beyond.sum(), top), marker="^", s=18,
                   color="tab:purple", label="paid; median was beyond the horizon")
    if still.any() and not np.isnan(edge):
        ax.scatter(np.full(still.sum(), edge), median[still], marker=">", s=16,
                   color="0.5", label=f"not paid by {_day(until)} (censored)")
    ax.plot([0, top], [0, top], color="0.3", ls="--", lw=1, label="predicted = actual")
    ax.set_xlim(-1, top)
    ax.set_ylim(-1, top * 1.03)
    stats = (f"{paid.sum()} paid: MAE {error.mean():.1f} days and "
             f"{(error <= 5).mean():.0%} within ±5 days (of {dated.sum()} with a median), "
             f"{inside.sum() / paid.sum():.0%} inside the 80% interval"
             if dated.any() else "no invoice with a median date paid yet")
    ax.set_title(stats, fontsize=10)
    ax.set_xlabel(f"actual: days after {_day(as_of)}")
    ax.set_ylabel(f"predicted (median): days after {_day(as_of)}")
    ax.legend(fontsize=8, frameon=False, loc="upper left", bbox_to_anchor=(1.01, 1))
    ax.grid(alpha=0.3)
    return fig


def worklist_bars(worklist: pd.DataFrame, top: int = 15) -> Figure:
    """The ``top`` invoices of a worklist per currency: the expected cost of waiting
    (outstanding × risk) as bars coloured by age bucket, the outstanding amount behind
    them, and the risk printed at the end.

    Parameters
    ----------
    worklist
        ``ppnb.analysis.worklist(...)``.
    top
        Invoices per currency, most urgent first.
    """
    if top < 1:
        raise ValueError(f"top must be at least 1, got {top}")
    when = _as_of(worklist)
    title = f"Worklist: expected cost of waiting{when}"
    if worklist.empty:
        return _empty(title, "No open invoices.")
    currencies = _currencies(worklist)
    blocks = [worklist[worklist["currency"] == c].nlargest(top, "cost_minor") for c in currencies]
    fig = Figure(figsize=(WIDTH, 1.0 + sum(0.28 * len(b) + 0.9 for b in blocks)),
                 layout="constrained")
    axes = fig.subplots(len(blocks), 1, squeeze=False,
                        gridspec_kw={"height_ratios": [len(b) + 2 for b in blocks]})[:, 0]
    fig.suptitle(title, fontsize=13)
    labels = list(dict.fromkeys(str(b) for b in worklist["bucket"]))
    palette = dict(zip(sorted(labels, key=_bucket_order), bucket_colors(len(labels)),
                       strict=True))
    for ax, currency, block in zip(axes, currencies, blocks, strict=True):
        y = np.arange(len(block))[::-1]
        ax.barh(y, _units(block["outstanding_minor"], currency), color="0.88",
                label="outstanding")
        ax.barh(y, _units(block["cost_minor"], currency),
                color=[palette[str(b)] for b in block["bucket"]])
        for position, (cost, risk) in zip(y, zip(_units(block["cost_minor"], currency),
                                                 block["risk"], strict=True), strict=True):
            ax.annotate(f"{risk:.0%}", (cost, position), va="center", fontsize=7,
                        xytext=(3, 0), textcoords="offset points")
        names = [f"{n}  {str(c)[:24]}" for n, c in zip(
            block["number"], block["customer_name"].fillna(block["customer"]), strict=True)]
        ax.set_yticks(y, names, fontsize=8)
        ax.set_xlabel(f"{currency} (bar: expected still unpaid; grey: outstanding; "
                      "label: risk)")
        ax.xaxis.set_major_formatter(_THOUSANDS)
        ax.set_title(f"{currency}: top {len(block)}{when}", fontsize=11)
    order = sorted(palette, key=_bucket_order)
    fig.legend([Patch(color=palette[label]) for label in order], order,
               loc="outside lower center", ncols=len(order), frameon=False,
               title="days past due")
    return fig


def _as_of(frame: pd.DataFrame) -> str:
    """`` as of YYYY-MM-DD`` from an analysis result's ``attrs["as_of"]`` (or nothing)."""
    as_of = frame.attrs.get("as_of")
    return f" as of {_day(as_of)}" if as_of is not None else ""


def _bucket_order(label: str) -> int:
    """``current`` first, then buckets by their first day."""
    return -1 if label == "current" else int(re.split(r"[-+]", label)[0])
