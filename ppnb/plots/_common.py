"""Helpers shared by every chart: figure and panel layout, units, labels, dates."""

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
from matplotlib.ticker import FuncFormatter

from ..money import decimals

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



def _date_axis(ax: Axes) -> None:
    """Short date tick labels that do not overlap at notebook width."""
    locator = AutoDateLocator(maxticks=8)
    ax.xaxis.set_major_locator(locator)
    ax.xaxis.set_major_formatter(ConciseDateFormatter(locator))



def _as_of(frame: pd.DataFrame) -> str:
    """`` as of YYYY-MM-DD`` from an analysis result's ``attrs["as_of"]`` (or nothing)."""
    as_of = frame.attrs.get("as_of")
    return f" as of {_day(as_of)}" if as_of is not None else ""


def _bucket_order(label: str) -> int:
    """``current`` first, then buckets by their first day."""
    return -1 if label == "current" else int(re.split(r"[-+]", label)[0])
