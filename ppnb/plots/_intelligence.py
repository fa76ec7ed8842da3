"""Collections-intelligence charts: the cash forecast, predicted vs actual, the worklist."""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.patches import Patch

from ._common import (
    _THOUSANDS,
    WIDTH,
    _as_of,
    _bucket_order,
    _currencies,
    _date_axis,
    _day,
    _empty,
    _units,
    bucket_colors,
)


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
