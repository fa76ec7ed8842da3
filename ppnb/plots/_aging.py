"""Aging charts: bars per bucket, the largest balances, buckets over time."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from matplotlib import colormaps
from matplotlib.figure import Figure
from matplotlib.patches import Patch

from ._common import (
    OTHERS,
    PANEL,
    SMALL,
    THOUSANDS,
    Target,
    bucket_colors,
    bucket_columns,
    compact,
    currencies_of,
    date_axis,
    day_text,
    empty,
    group_label,
    legend_below,
    legend_beside,
    panels,
    plain,
    title,
    units,
)


def _basis(aging: Any) -> str:
    return str(aging.basis).replace("_", " ")


def aging_bars(aging: Any, *, ax: Target = None) -> Figure:
    """Stacked bars of what is outstanding in each age bucket, one panel per currency.

    Each bar is a bucket; its segments are the largest groups of the aging (customers by
    default: the six largest in that currency, the rest as "others"), named in a legend
    beside the panel. The bar's total is printed on top.

    Parameters
    ----------
    aging
        An ``ppnb.analysis.Aging`` (from ``ppnb.aging``).
    ax
        Draw into this Axes (one currency) or these Axes (one per currency) instead of a
        new figure.
    """
    as_of = day_text(aging.as_of)
    heading = f"Receivables aging as of {as_of} ({_basis(aging)} basis)"
    summary: pd.DataFrame = aging.summary
    labels = list(aging.labels)
    if summary.empty or not summary["total"].any():
        return empty(heading, f"Nothing outstanding as of {as_of}.", ax)
    currencies = currencies_of(summary)
    keys = [k for k in aging.by if k != "currency"]
    fig, axes, own = panels(ax, len(currencies), what="aging_bars", height=3.4)
    title(fig, heading, own)
    x = np.arange(len(labels))
    for panel, currency in zip(axes, currencies, strict=True):
        rows = summary[summary["currency"] == currency].sort_values("total", ascending=False)
        if keys and len(rows) > 1:
            top = rows.iloc[:OTHERS]
            names = [plain(group_label(row, keys), 28) for _, row in top.iterrows()]
            stacks = [units(top[labels].to_numpy()[i], currency) for i in range(len(top))]
            rest = rows.iloc[OTHERS:]
            if len(rest):
                names.append(f"{len(rest)} others")
                stacks.append(units(rest[labels].to_numpy().sum(axis=0), currency))
            colors = colormaps["tab10"](np.arange(len(stacks)) % 10)
            bottom = np.zeros(len(labels))
            bars = []
            for values, color in zip(stacks, colors, strict=True):
                bars.append(panel.bar(x, values, bottom=bottom, color=color, width=0.7))
                bottom += values
            legend_beside(panel, bars, names, title=keys[0].replace("_", " "))
        else:
            bottom = units(rows[labels].to_numpy().sum(axis=0), currency)
            panel.bar(x, bottom, color=bucket_colors(len(labels)), width=0.7)
        for position, value in zip(x, bottom, strict=True):
            panel.annotate(compact(value), (position, value), ha="center", va="bottom",
                           fontsize=SMALL, xytext=(0, 2), textcoords="offset points")
        panel.set_xticks(x, labels)
        panel.set_xlabel("days past due" if aging.basis == "due_date" else "days since invoice")
        panel.set_ylabel(f"outstanding ({currency})")
        panel.yaxis.set_major_formatter(THOUSANDS)
        panel.set_title(f"{currency}, as of {as_of}", fontsize=PANEL)
        panel.margins(y=0.15)
    return fig


def aging_heatmap(aging: Any, top: int = 20, *, ax: Target = None) -> Figure:
    """Group × bucket heatmap of the ``top`` groups with the most outstanding, per currency.

    Cells show the amount (e.g. ``12.3k``) and are coloured by it, on one colour scale
    per currency panel.

    Parameters
    ----------
    aging
        An ``ppnb.analysis.Aging``.
    top
        How many groups (customers by default) to show per currency, largest first.
    ax
        Draw into this Axes (one currency) or these Axes (one per currency).
    """
    if top < 1:
        raise ValueError(f"top must be at least 1, got {top}")
    as_of = day_text(aging.as_of)
    heading = f"Largest balances by age as of {as_of} ({_basis(aging)} basis)"
    summary: pd.DataFrame = aging.summary
    labels = list(aging.labels)
    summary = summary[summary["total"] > 0] if not summary.empty else summary
    if summary.empty:
        return empty(heading, f"Nothing outstanding as of {as_of}.", ax)
    currencies = currencies_of(summary)
    keys = [k for k in aging.by if k != "currency"] or ["currency"]
    blocks = [summary[summary["currency"] == c].nlargest(top, "total") for c in currencies]
    heights = [len(b) for b in blocks]
    fig, axes, own = panels(ax, len(blocks), what="aging_heatmap",
                            height=1.0 + sum(0.3 * h + 0.9 for h in heights),
                            ratios=[h + 3 for h in heights])
    title(fig, heading, own)
    for panel, currency, block in zip(axes, currencies, blocks, strict=True):
        values = units(block[labels].to_numpy(), currency)
        image = panel.imshow(values, aspect="auto", cmap="YlOrRd", vmin=0)
        limit = values.max() or 1.0
        for (i, j), value in np.ndenumerate(values):
            if value:
                panel.text(j, i, compact(value), ha="center", va="center", fontsize=SMALL,
                           color="white" if value > 0.6 * limit else "black")
        panel.set_xticks(range(len(labels)), labels)
        panel.xaxis.tick_top()
        names = [plain(group_label(row, keys), 32) for _, row in block.iterrows()]
        panel.set_yticks(range(len(block)), names, fontsize=SMALL)
        panel.set_title(f"{currency}: top {len(block)} by outstanding, as of {as_of}",
                        fontsize=PANEL)
        fig.colorbar(image, ax=panel, label=currency, format=THOUSANDS, pad=0.01)
    return fig


def aging_trend(series: pd.DataFrame, *, ax: Target = None) -> Figure:
    """Outstanding by age bucket over time (stacked areas), one panel per currency.

    Parameters
    ----------
    series
        ``ppnb.analysis.aging_series(...)``: one row per as-of date × group × currency
        with one minor-unit column per bucket. Groups are added up within each currency.
    ax
        Draw into this Axes (one currency) or these Axes (one per currency).
    """
    heading = "Receivables by age over time"
    if series.empty:
        return empty(heading, "No aging dates to show.", ax)
    labels = bucket_columns(series)
    dates = pd.to_datetime(series["as_of"])
    span = f"{day_text(dates.min())} to {day_text(dates.max())}"
    totals = series.assign(as_of=dates).groupby(["currency", "as_of"], sort=True)[labels].sum()
    every_date = pd.DatetimeIndex(sorted(dates.unique()), name="as_of")
    currencies = [str(c) for c in totals.index.get_level_values("currency").unique()]
    fig, axes, own = panels(ax, len(currencies), what="aging_trend", height=3.2,
                            ncols=min(2, len(currencies)))
    title(fig, f"{heading}, as of {span}", own)
    colors = bucket_colors(len(labels))
    for panel, currency in zip(axes, currencies, strict=True):
        # a date on which nothing in this currency was open has no row: it is a zero
        block = totals.xs(currency, level="currency").reindex(every_date, fill_value=0)
        stacks = [units(block[label].to_numpy(), currency) for label in labels]
        panel.stackplot(block.index.to_numpy(), stacks, colors=colors, alpha=0.9)
        panel.set_ylabel(f"outstanding ({currency})")
        panel.yaxis.set_major_formatter(THOUSANDS)
        date_axis(panel)
        panel.set_title(f"{currency}, {span}", fontsize=PANEL)
        panel.margins(x=0, y=0.1)
    legend_below(fig, axes, [Patch(color=c, alpha=0.9) for c in colors], labels, own,
                 title="days past the basis date")
    return fig
