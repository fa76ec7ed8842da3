"""Collections-intelligence charts: the cash forecast, predicted vs actual, the worklist."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.patches import Patch

from ._common import (
    PANEL,
    SMALL,
    THOUSANDS,
    Target,
    as_of_text,
    bucket_colors,
    bucket_order,
    currencies_of,
    date_axis,
    day_text,
    empty,
    legend_below,
    legend_beside,
    panels,
    plain,
    title,
    units,
)


def forecast_fan(forecast: pd.DataFrame, *, ax: Target = None) -> Figure:
    """The cash forecast, one row of panels per currency: expected collections per week
    with their 80% band (left), and collected so far with its widening 80% fan (right).

    Parameters
    ----------
    forecast
        ``ppnb.analysis.cash_forecast(...)`` (its ``attrs["as_of"]`` is printed).
    ax
        Draw into these Axes instead of a new figure: two per currency, in order (weekly,
        then cumulative).
    """
    when = as_of_text(forecast)
    heading = f"Cash forecast from the open invoices{when}"
    if forecast.empty:
        return empty(heading, "No open invoices to forecast.", ax)
    currencies = currencies_of(forecast)
    fig, axes, own = panels(ax, 2 * len(currencies), what="forecast_fan", height=3.4, ncols=2)
    title(fig, heading, own)
    handles: list[Any] = []
    for row, currency in enumerate(currencies):
        weekly, fan = axes[2 * row:2 * row + 2]
        rows = forecast[forecast["currency"] == currency].sort_values("week")
        start = pd.to_datetime(rows["start"]).to_numpy()
        expected = units(rows["expected_minor"], currency)
        low, high = units(rows["low_minor"], currency), units(rows["high_minor"], currency)
        bars = weekly.bar(start, expected, width=np.timedelta64(5, "D"), align="edge",
                          color="tab:blue", alpha=0.75)
        band = weekly.errorbar(start + np.timedelta64(60, "h"), expected,
                               yerr=[np.maximum(expected - low, 0),
                                     np.maximum(high - expected, 0)],
                               fmt="none", ecolor="0.25", capsize=2)
        weekly.set_title(f"{currency}: collections per week{when}", fontsize=PANEL)
        end = pd.to_datetime(rows["end"]).to_numpy() + np.timedelta64(1, "D")
        fill = fan.fill_between(end, units(rows["cumulative_low_minor"], currency),
                                units(rows["cumulative_high_minor"], currency),
                                color="tab:blue", alpha=0.25)
        [line] = fan.plot(end, units(rows["cumulative_minor"], currency), color="tab:blue",
                          marker="o", markersize=3)
        opened = fan.axhline(units(rows["open_minor"].iloc[:1], currency)[0], color="0.4",
                             ls=":")
        fan.set_title(f"{currency}: cumulative collections{when}", fontsize=PANEL)
        handles = [bars, band, line, fill, opened]
        for panel in (weekly, fan):
            panel.set_ylabel(currency)
            panel.yaxis.set_major_formatter(THOUSANDS)
            date_axis(panel)
            panel.set_ylim(bottom=0)
            panel.grid(alpha=0.3)
    legend_below(fig, axes, handles, ["expected per week", "80% band (week)",
                                      "expected, cumulative", "80% band (cumulative)",
                                      "open on the as-of date"], own)
    return fig


def predicted_vs_actual(backtest: pd.DataFrame, *, ax: Target = None) -> Figure:
    """Predicted against actual payment dates, in days after the prediction day: each paid
    invoice's median with its 80% interval, the diagonal where they agree, and the
    invoices still open at the end (censored: their actual date is not known yet).

    Parameters
    ----------
    backtest
        ``ppnb.analysis.backtest(...)`` (or any frame with ``expected_date``, ``low``,
        ``high``, ``actual_date`` and ``attrs["as_of"]``). Days, not money: currencies share
        one panel.
    ax
        Draw into this Axes instead of a new figure.
    """
    as_of = pd.Timestamp(backtest.attrs.get("as_of", backtest["expected_date"].min()))
    until = backtest.attrs.get("until")
    span = f"predicted on {day_text(as_of)}" + (f", paid by {day_text(until)}" if until else "")
    heading = f"Predicted vs actual payment dates, {span}"
    if backtest.empty:
        return empty(heading, "No open invoices on the prediction day.", ax)

    def days(column: str) -> np.ndarray:
        return (pd.to_datetime(backtest[column]) - as_of).dt.days.to_numpy(np.float64)

    actual, median = days("actual_date"), days("expected_date")
    low, high = days("low"), days("high")
    fig, [ax], own = panels(ax, 1, what="predicted_vs_actual", height=5.2)
    title(fig, heading, own)
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
                   color="0.5", label=f"not paid by {day_text(until)} (censored)")
    ax.plot([0, top], [0, top], color="0.3", ls="--", lw=1, label="predicted = actual")
    ax.set_xlim(-1, top)
    ax.set_ylim(-1, top * 1.03)
    stats = (f"{paid.sum()} paid: MAE {error.mean():.1f} days and "
             f"{(error <= 5).mean():.0%} within ±5 days (of {dated.sum()} with a median), "
             f"{inside.sum() / paid.sum():.0%} inside the 80% interval"
             if dated.any() else "no invoice with a median date paid yet")
    ax.set_title(stats if own else f"{heading}\n{stats}", fontsize=10)
    ax.set_xlabel(f"actual: days after {day_text(as_of)}")
    ax.set_ylabel(f"predicted (median): days after {day_text(as_of)}")
    legend_beside(ax, *ax.get_legend_handles_labels())
    ax.grid(alpha=0.3)
    return fig


def worklist_bars(worklist: pd.DataFrame, top: int = 15, *, ax: Target = None) -> Figure:
    """The ``top`` invoices of a worklist per currency: the expected cost of waiting
    (outstanding × risk) as bars coloured by age bucket, the outstanding amount behind
    them, and the risk printed at the end.

    Parameters
    ----------
    worklist
        ``ppnb.analysis.worklist(...)``.
    top
        Invoices per currency, most urgent first.
    ax
        Draw into this Axes (one currency) or these Axes (one per currency).
    """
    if top < 1:
        raise ValueError(f"top must be at least 1, got {top}")
    when = as_of_text(worklist)
    heading = f"Worklist: expected cost of waiting{when}"
    if worklist.empty:
        return empty(heading, "No open invoices.", ax)
    currencies = currencies_of(worklist)
    blocks = [worklist[worklist["currency"] == c].nlargest(top, "cost_minor") for c in currencies]
    fig, axes, own = panels(ax, len(blocks), what="worklist_bars",
                            height=1.0 + sum(0.28 * len(b) + 0.9 for b in blocks),
                            ratios=[len(b) + 2 for b in blocks])
    title(fig, heading, own)
    labels = list(dict.fromkeys(str(b) for b in worklist["bucket"]))
    palette = dict(zip(sorted(labels, key=bucket_order), bucket_colors(len(labels)),
                       strict=True))
    for panel, currency, block in zip(axes, currencies, blocks, strict=True):
        y = np.arange(len(block))[::-1]
        panel.barh(y, units(block["outstanding_minor"], currency), color="0.88")
        costs = units(block["cost_minor"], currency)
        panel.barh(y, costs, color=[palette[str(b)] for b in block["bucket"]])
        for position, cost, risk in zip(y, costs, block["risk"], strict=True):
            panel.annotate(f"{risk:.0%}", (cost, position), va="center", fontsize=SMALL,
                           xytext=(3, 0), textcoords="offset points")
        names = [f"{plain(n, 16)}  {plain(c, 24)}" for n, c in zip(
            block["number"], block["customer_name"].fillna(block["customer"]), strict=True)]
        panel.set_yticks(y, names, fontsize=SMALL)
        panel.set_xlabel(f"{currency} (bar: expected still unpaid; grey: outstanding; "
                         "label: risk)")
        panel.xaxis.set_major_formatter(THOUSANDS)
        panel.margins(x=0.08)
        panel.set_title(f"{currency}: top {len(block)}{when}", fontsize=PANEL)
    order = sorted(palette, key=bucket_order)
    legend_below(fig, axes, [Patch(color=palette[label]) for label in order], order, own,
                 title="days past due")
    return fig
