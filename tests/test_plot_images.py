"""Visual regression: every plot function drawn from fixed data, compared with its committed
baseline image in ``tests/baseline_images/``.

The data are made here from seeded random numbers (a small three-currency book, turned into
analysis results by :mod:`ppnb.analysis`, and forecast, backtest and worklist frames built
directly), the style is matplotlib's defaults with its own test font settings (DejaVu Sans,
which ships with matplotlib), and each figure is saved as a PNG at :data:`DPI` without
metadata. matplotlib's wheels bundle their own FreeType, so the same matplotlib draws the
same pixels on this machine and in a fresh venv; :data:`TOLERANCE` (RMS of the pixel
difference, 0-255) only forgives anti-aliasing noise. A moved legend, a lost bar or a
changed colour fails.

To accept a deliberate change, look at the new images first, then regenerate and commit::

    PPNB_UPDATE_BASELINES=1 .venv/bin/python -m pytest -q tests/test_plot_images.py
    git add tests/baseline_images

A failing comparison leaves the new image and a diff in ``out/image-diffs/`` for review.
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import matplotlib
import matplotlib.style
import matplotlib.testing
import numpy as np
import pandas as pd
import pytest
from matplotlib.figure import Figure
from matplotlib.testing.compare import compare_images
from test_analysis_aging import invoice  # one invoice as the API returns it

from ppnb import plots
from ppnb.analysis import (
    aging,
    aging_series,
    cohort_curves,
    kpi_series,
    month_ends,
    roll_rates,
)
from ppnb.frames import Tables, flatten

BASELINES = Path(__file__).parent / "baseline_images"
DIFFS = Path(__file__).resolve().parents[1] / "out" / "image-diffs"
DPI = 50
TOLERANCE = 1.0
AS_OF = dt.date(2025, 6, 30)
CUSTOMERS = [("ada@example.com", "Ada Analytics Ltd"), ("bo@example.com", "Bo Bakery GmbH"),
             ("cy@example.com", "Cy Clinic plc"), ("di@example.com", None),
             ("ed@example.com", "Ed Engineering KK"), ("fa@example.com", "Fa Foods BV"),
             ("gu@example.com", "Gu Garden Inc"), ("ha@example.com", "Ha Hotels SA")]


def synthetic_book() -> Tables:
    """240 invoices over a year in USD, EUR and JPY: most paid around their due date, some
    partly paid, some long overdue; the same book on every run."""
    rng = np.random.default_rng(20250630)
    docs = []
    for k in range(240):
        currency = ("USD", "EUR", "JPY")[k % 3]
        email, business = CUSTOMERS[int(rng.integers(len(CUSTOMERS)))]
        issued = dt.date(2024, 7, 1) + dt.timedelta(days=int(rng.integers(0, 362)))
        due = issued + dt.timedelta(days=30)
        total = int(rng.integers(100, 5000)) * (1 if currency == "JPY" else 100)
        late = int(rng.normal(5, 25))
        paid_on = due + dt.timedelta(days=late)
        payments: list[tuple[str, int]] = []
        status = "UNPAID"
        if paid_on <= AS_OF and rng.random() < 0.85:
            if rng.random() < 0.2:
                payments, status = [(paid_on.isoformat(), total // 2)], "PARTIALLY_PAID"
            else:
                payments, status = [(paid_on.isoformat(), total)], "PAID"
        docs.append(invoice(f"INV-{k:04d}", total, currency=currency, status=status,
                            invoice_date=issued.isoformat(), due_date=due.isoformat(),
                            email=email, business=business, payments=payments))
    return flatten(docs)


def forecast_frame() -> pd.DataFrame:
    """A cash forecast's shape (13 weeks, two currencies) with a widening band."""
    rng = np.random.default_rng(13)
    rows = []
    for currency, scale in (("EUR", 40_000), ("USD", 120_000)):
        expected = (rng.uniform(0.3, 1.0, 13) * scale).astype(np.int64)
        spread = (np.linspace(0.2, 0.9, 13) * expected).astype(np.int64)
        cumulative = np.cumsum(expected)
        for week in range(13):
            start = AS_OF + dt.timedelta(days=7 * week + 1)
            rows.append({"currency": currency, "week": week + 1, "start": pd.Timestamp(start),
                         "end": pd.Timestamp(start + dt.timedelta(days=6)),
                         "expected_minor": expected[week],
                         "low_minor": expected[week] - spread[week],
                         "high_minor": expected[week] + spread[week],
                         "cumulative_minor": cumulative[week],
                         "cumulative_low_minor": int(cumulative[week] * 0.8),
                         "cumulative_high_minor": int(cumulative[week] * 1.15),
                         "open_minor": int(cumulative[-1] * 1.3)})
    frame = pd.DataFrame(rows)
    frame.attrs["as_of"] = AS_OF
    return frame


def backtest_frame() -> pd.DataFrame:
    """A backtest's shape: predictions on 2025-03-31, payments known up to 2025-06-30."""
    rng = np.random.default_rng(31)
    day = pd.Timestamp("2025-03-31")
    median = rng.integers(1, 80, 60)
    actual = median + rng.integers(-12, 20, 60)
    rows = [{"expected_date": day + pd.Timedelta(days=int(m)),
             "low": day + pd.Timedelta(days=int(max(m - 10, 0))),
             "high": day + pd.Timedelta(days=int(m + 15)),
             "actual_date": day + pd.Timedelta(days=int(a)) if 0 <= a <= 91 else pd.NaT}
            for m, a in zip(median, actual, strict=True)]
    frame = pd.DataFrame(rows)
    frame.attrs.update(as_of=day.date(), until=AS_OF)
    return frame


def worklist_frame() -> pd.DataFrame:
    """A worklist's shape: two currencies, the buckets' colours, risks printed."""
    rng = np.random.default_rng(5)
    rows = []
    for k in range(16):
        currency = ("EUR", "USD")[k % 2]
        outstanding = int(rng.integers(500, 9000)) * 100
        risk = float(rng.uniform(0.05, 1.0))
        email, business = CUSTOMERS[k % len(CUSTOMERS)]
        rows.append({"number": f"INV-{k:04d}", "customer": email, "customer_name": business,
                     "currency": currency, "outstanding_minor": outstanding,
                     "cost_minor": int(outstanding * risk), "risk": risk,
                     "bucket": ("current", "1-30", "31-60", "61-90", "91+")[k % 5]})
    frame = pd.DataFrame(rows)
    frame.attrs["as_of"] = AS_OF
    return frame


def charts(book: Tables) -> dict[str, Callable[[], Figure]]:
    """Every plot function, and the ways of calling them that draw differently."""
    ends = month_ends("2024-07-01", AS_OF)
    aged = aging(book, AS_OF)

    def into_axes() -> Figure:  # ax=: one currency's bars in the caller's own figure
        fig = Figure(figsize=(6, 3.5), layout="constrained")
        invoices, items, payments, refunds = book
        usd = Tables(invoices[invoices["currency"] == "USD"], items, payments, refunds)
        one = aging(usd, AS_OF)
        plots.aging_bars(one, ax=fig.subplots())
        return fig

    return {
        "aging_bars": lambda: plots.aging_bars(aged),
        "aging_bars_by_currency": lambda: plots.aging_bars(aging(book, AS_OF, by="currency")),
        "aging_bars_ax": into_axes,
        "aging_bars_empty": lambda: plots.aging_bars(aging(book, "2024-06-01")),
        "aging_heatmap": lambda: plots.aging_heatmap(aged, top=6),
        "aging_trend": lambda: plots.aging_trend(aging_series(book, ends)),
        "kpi_trend": lambda: plots.kpi_trend(kpi_series(book, ends)),
        "roll_rate_heatmap": lambda: plots.roll_rate_heatmap(roll_rates(book, ends)),
        "cohort_curves": lambda: plots.cohort_curves(cohort_curves(book, AS_OF), as_of=AS_OF),
        "forecast_fan": lambda: plots.forecast_fan(forecast_frame()),
        "predicted_vs_actual": lambda: plots.predicted_vs_actual(backtest_frame()),
        "worklist_bars": lambda: plots.worklist_bars(worklist_frame(), top=6),
    }


@contextmanager
def fixed_style() -> Iterator[None]:
    """matplotlib's default style with its test font settings, undone afterwards."""
    with matplotlib.rc_context():
        matplotlib.style.use("default")
        matplotlib.testing.set_font_settings_for_testing()
        matplotlib.testing.set_reproducibility_for_testing()
        yield


def render(make: Callable[[], Figure], path: Path) -> Path:
    with fixed_style():
        make().savefig(path, dpi=DPI, metadata={"Software": None})
    return path


@pytest.fixture(scope="module")
def book() -> Tables:
    return synthetic_book()


NAMES = sorted(charts(flatten([])))


def test_every_plot_function_has_a_baseline() -> None:
    functions = set(plots.__all__) - {"bucket_colors", "bucket_columns", "group_label"}
    assert functions <= set(NAMES)
    committed = {p.stem for p in BASELINES.glob("*.png")}
    assert committed == set(NAMES), "regenerate: PPNB_UPDATE_BASELINES=1 (module docstring)"


@pytest.mark.parametrize("name", NAMES)
def test_chart_matches_its_baseline(name: str, book: Tables, tmp_path: Path) -> None:
    actual = render(charts(book)[name], tmp_path / f"{name}.png")
    expected = BASELINES / f"{name}.png"
    if os.environ.get("PPNB_UPDATE_BASELINES"):
        BASELINES.mkdir(exist_ok=True)
        shutil.copyfile(actual, expected)
    assert expected.exists(), f"no baseline {expected}: see this module's docstring"
    failure = compare_images(str(expected), str(actual), tol=TOLERANCE)
    if failure:
        DIFFS.mkdir(parents=True, exist_ok=True)
        for produced in tmp_path.glob(f"{name}*.png"):
            shutil.copyfile(produced, DIFFS / produced.name)
    assert failure is None, failure


def test_the_comparison_sees_a_moved_legend(book: Tables, tmp_path: Path) -> None:
    def moved() -> Figure:
        fig = charts(book)["aging_bars"]()
        for ax in fig.axes:
            legend = ax.get_legend()
            if legend:  # back on the data, where it used to be
                ax.legend(legend.legend_handles, [t.get_text() for t in legend.get_texts()],
                          loc="upper right", fontsize=9)
        return fig

    actual = render(moved, tmp_path / "aging_bars.png")
    failure = compare_images(str(BASELINES / "aging_bars.png"), str(actual), tol=TOLERANCE)
    assert failure is not None and "Image files did not match" in failure


def test_rendering_is_deterministic(book: Tables, tmp_path: Path) -> None:
    first = render(charts(book)["cohort_curves"], tmp_path / "first.png").read_bytes()
    second = render(charts(book)["cohort_curves"], tmp_path / "second.png").read_bytes()
    assert first == second
