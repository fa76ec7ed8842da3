"""Helpers shared by every chart: panels and legends, safe labels, units, dates."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
from matplotlib import colormaps
from matplotlib.artist import Artist
from matplotlib.axes import Axes
from matplotlib.dates import AutoDateLocator, ConciseDateFormatter
from matplotlib.figure import Figure, FigureBase
from matplotlib.ticker import FuncFormatter

from ..display import visible
from ..money import decimals

WIDTH = 10.0  # inches: the width of a notebook's output area, and of a report's page frame
#: Font sizes in points. Nothing on a chart is smaller than ``SMALL``: reports print charts at
#: their own size, and 9 pt is the least that reads on paper.
TITLE, PANEL, SMALL = 13, 11, 9
_LABEL = re.compile(r"^(current|\d+-\d+|\d+\+)$")
OTHERS = 6  # stacked segments per bar before the rest is lumped into "others"

Target = Axes | Sequence[Axes] | None


def bucket_columns(frame: pd.DataFrame) -> list[str]:
    """The aging-bucket columns of ``frame`` in order (``current``, ``1-30``, …, ``91+``).

    Bucket labels have one style whatever the edges (see ``ppnb.analysis.bucket_labels``),
    so they are recognised by name; the frame's column order is their order.
    """
    return [str(c) for c in frame.columns if _LABEL.match(str(c))]


def group_label(row: pd.Series, keys: Sequence[str]) -> str:
    """A readable name for one group of an aging summary.

    A customer is shown by its name when it has one, else by its key; other group keys
    are joined with `` / ``. The text is the data's own; charts draw it through
    :func:`plain`.
    """
    shown = [k for k in keys if k != "currency"]
    if "customer_name" in shown and "customer" in shown:
        name = row["customer_name"]
        shown.remove("customer_name")
        if not pd.isna(name) and str(name):
            shown[shown.index("customer")] = "customer_name"
    parts = [str(row[k]) for k in shown if not pd.isna(row[k])]
    return " / ".join(parts) or "(none)"


def plain(text: Any, limit: int | None = None) -> str:
    """Text from the data (a customer's name, a cohort) made safe to draw.

    Control and bidirectional characters are shown as escapes (:func:`ppnb.display.visible`),
    the text is cut to ``limit`` characters with an ellipsis, and every ``$`` is escaped:
    matplotlib reads ``$…$`` as mathtext, so a business called ``Acme $$ Corp`` would fail
    to draw or be typeset as a formula.
    """
    shown = visible(str(text))
    if limit is not None and len(shown) > limit:
        shown = shown[:limit - 1] + "…"
    return shown.replace("$", r"\$")


def day_text(value: Any) -> str:
    """A date as ``YYYY-MM-DD`` (accepts dates, datetimes, Timestamps and ISO strings)."""
    if isinstance(value, str):
        return value[:10]
    return pd.Timestamp(value).strftime("%Y-%m-%d")


def as_of_text(frame: pd.DataFrame) -> str:
    """`` as of YYYY-MM-DD`` from an analysis result's ``attrs["as_of"]`` (or nothing)."""
    as_of = frame.attrs.get("as_of")
    return f" as of {day_text(as_of)}" if as_of is not None else ""


def units(minor: Any, currency: str) -> np.ndarray:
    """Minor units as floats in currency units, for drawing only."""
    return np.asarray(minor, dtype="float64") / 10 ** decimals(currency)


def compact(value: float) -> str:
    """``1234567`` → ``1.2M``: short enough to print inside a heatmap cell."""
    size = abs(value)
    for limit, suffix in ((1e9, "G"), (1e6, "M"), (1e3, "k")):
        if size >= limit:
            return f"{value / limit:.1f}{suffix}"
    return f"{value:.0f}"


THOUSANDS = FuncFormatter(lambda value, _pos: f"{value:,.0f}")


def bucket_colors(count: int) -> list[Any]:
    """Colours for ``count`` aging buckets: green for current through dark red for the
    oldest, the same on every chart (and in the Excel report's charts)."""
    return list(colormaps["RdYlGn_r"](np.linspace(0.08, 0.95, count)))


def bucket_order(label: str) -> int:
    """``current`` first, then buckets by their first day."""
    return -1 if label == "current" else int(re.split(r"[-+]", label)[0])


def currencies_of(frame: pd.DataFrame) -> list[str]:
    """The currencies of an analysis result, in alphabetical order."""
    return sorted(str(c) for c in frame["currency"].dropna().unique())


def panels(ax: Target, count: int, *, what: str, height: float, ncols: int = 1,
           ratios: Sequence[float] | None = None) -> tuple[Figure, list[Axes], bool]:
    """The axes a chart draws its ``count`` panels on, its figure, and whether the chart
    made that figure.

    Without ``ax``: a new notebook-wide figure, a grid of ``ncols`` columns with rows
    ``height`` inches high (with ``ratios``, one column of rows with those relative heights,
    ``height`` inches in all). With ``ax`` (one Axes, or a sequence of them): those, which
    must be exactly ``count``; the caller's figure keeps its own title and layout.

    Raises
    ------
    ValueError
        If ``ax`` holds another number of Axes than the chart has panels.
    """
    if ax is not None:
        axes = [ax] if isinstance(ax, Axes) else list(ax)
        if len(axes) != count:
            raise ValueError(f"{what} draws {count} panel{'s' * (count != 1)} here (see its "
                             f"docstring); ax= gave {len(axes)} Axes")
        return root(axes[0]), axes, False
    nrows = max(1, -(-count // ncols))
    fig = Figure(figsize=(WIDTH, height if ratios else height * nrows), layout="constrained")
    grid = fig.subplots(nrows, ncols, squeeze=False,
                        gridspec_kw={"height_ratios": list(ratios)} if ratios else None)
    axes = list(grid.ravel())
    for extra in axes[count:]:
        extra.set_visible(False)
    return fig, axes[:count], True


def root(ax: Axes) -> Figure:
    """The figure ``ax`` is drawn in (the top one, when it sits in a subfigure)."""
    fig: Any = ax.figure
    while not isinstance(fig, Figure):
        fig = fig.figure
    return fig


def title(fig: FigureBase, text: str, own: bool) -> None:
    """The figure's title, on a figure the chart made (a caller's figure keeps its own)."""
    if own:
        fig.suptitle(text, fontsize=TITLE)


def legend_beside(ax: Axes, handles: Sequence[Artist], labels: Sequence[str], *,
                  title: str | None = None) -> None:
    """A legend to the right of ``ax``, outside it, so it never covers the data.

    Handles and labels are given explicitly: matplotlib drops labels starting with ``_``,
    and a customer may well be called that.
    """
    ax.legend(list(handles), list(labels), loc="upper left", bbox_to_anchor=(1.01, 1.0),
              borderaxespad=0.0, fontsize=SMALL, frameon=False, title=title,
              title_fontsize=SMALL, alignment="left")


def legend_below(fig: FigureBase, axes: Sequence[Axes], handles: Sequence[Artist],
                 labels: Sequence[str], own: bool, *, title: str | None = None) -> None:
    """One legend for every panel: below them all on the chart's own figure, else beside its
    last panel (a caller's figure has its own layout)."""
    if not own:
        legend_beside(axes[-1], handles, labels, title=title)
        return
    fig.legend(list(handles), list(labels), loc="outside lower center",
               ncols=min(len(labels), 6), frameon=False, fontsize=SMALL, title=title,
               title_fontsize=SMALL)


def empty(title_text: str, message: str, ax: Target = None) -> Figure:
    """A figure that says there is nothing to draw (instead of an error or blank axes); with
    ``ax``, the first of those Axes says it."""
    if ax is None:
        fig = Figure(figsize=(WIDTH, 2.5), layout="constrained")
        target = fig.subplots()
    else:
        target = ax if isinstance(ax, Axes) else next(iter(ax))
        fig = root(target)
    target.set_axis_off()
    target.set_title(title_text, fontsize=PANEL)
    target.text(0.5, 0.5, message, ha="center", va="center", fontsize=12, color="0.35",
                transform=target.transAxes)
    return fig


def date_axis(ax: Axes) -> None:
    """Short date tick labels that do not overlap at notebook width."""
    locator = AutoDateLocator(maxticks=8)
    ax.xaxis.set_major_locator(locator)
    ax.xaxis.set_major_formatter(ConciseDateFormatter(locator))
