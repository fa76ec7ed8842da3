"""Aging charts: bars per bucket, the largest balances, buckets over time."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from matplotlib import colormaps
from matplotlib.figure import Figure

from ._common import (
    _OTHERS,
    _THOUSANDS,
    WIDTH,
    _basis,
    _compact,
    _currencies,
    _date_axis,
    _day,
    _empty,
    _figure,
    _units,
    bucket_colors,
    bucket_columns,
    group_label,
)


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
