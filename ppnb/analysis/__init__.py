"""Receivables analysis on the DataFrame tables: as-of aging, collection KPIs, roll rates,
cohort collection curves, a customer view, and collections intelligence (payment-date
predictions, a cash forecast and a worklist).

Every function takes a :class:`ppnb.frames.Tables` (from :func:`ppnb.fetch_tables`,
:func:`ppnb.load` or :func:`ppnb.frames.flatten`) and never calls the API. Money stays exact:
sums are int64 minor units per currency, never added across currencies; float columns
(percentages, DSO, shares) are ratios for display. The one figure that adds currencies is a
converted one, asked for with :class:`Rates` (``aging(..., rates=Rates(date, "USD",
{...}))``), and it always names its target currency and the rates' date.

Most functions return a DataFrame. :func:`aging` returns an :class:`Aging` and
:func:`roll_rates` a :class:`RollRates`: holders of several tables, whose reprs say so and
name them (``aged.summary``, ``aged.totals``, ``aged.detail``).

>>> import ppnb
>>> from ppnb.analysis import aging, kpis
>>> tables = ppnb.fetch_tables(ppnb.connect())                      # doctest: +SKIP
>>> aged = aging(tables, "2025-06-30")                              # doctest: +SKIP
>>> aged.totals                                                     # doctest: +SKIP
>>> kpis(tables, "2025-04-01", "2025-06-30")                        # doctest: +SKIP
"""

from ._aging import Aging, aging, aging_series
from ._backtest import backtest
from ._cohorts import cohort_curves
from ._customers import customer_view
from ._features import disputed
from ._forecast import cash_forecast
from ._kpis import KPI_DAYS, dso_countback, kpi_series, kpis
from ._params import DEFAULT_BUCKETS, AnalysisError, as_date, bucket_labels, month_ends
from ._predict import predict_payments
from ._rates import Rates
from ._rolls import RollRates, roll_rates
from ._worklist import worklist

__all__ = [
    "DEFAULT_BUCKETS",
    "KPI_DAYS",
    "Aging",
    "AnalysisError",
    "Rates",
    "RollRates",
    "aging",
    "aging_series",
    "as_date",
    "backtest",
    "bucket_labels",
    "cash_forecast",
    "cohort_curves",
    "customer_view",
    "disputed",
    "dso_countback",
    "kpi_series",
    "kpis",
    "month_ends",
    "predict_payments",
    "roll_rates",
    "worklist",
]
