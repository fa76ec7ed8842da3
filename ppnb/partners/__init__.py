"""Many merchants at once: a PayPal partner's books pulled and analysed on Dask.

A partner app (an accounting platform, a marketplace, an agency) acts for the merchants who
granted it, through ``PayPal-Auth-Assertion`` (:meth:`ppnb.client.Client.acting_for`).
:func:`sync` walks all of them on a ``dask.distributed`` cluster, one task per merchant:

* each merchant's book is pulled incrementally (:func:`ppnb.sync`), retried on transient
  errors; a merchant that revoked the grant (403) is reported, and nothing else stops;
* the tables become Hive-partitioned Parquet datasets, one per table
  (``<path>/invoices/merchant=<payer id>/part-0.parquet`` ...), that pandas, Dask, DuckDB
  and Spark read as they are; a merchant's partition is replaced only when its sync
  completed;
* a rerun after a crash skips the merchants the interrupted run already synced.

:func:`aging` and :func:`kpis` then run ppnb's analysis on every merchant's partition as
one Dask task each. Dask is needed only when these run (``pip install 'ppnb[partners]'``).

>>> import ppnb, ppnb.partners as partners
>>> partner = ppnb.connect()                                              # doctest: +SKIP
>>> result = partners.sync(partner, payer_ids, "data/partners")          # doctest: +SKIP
>>> result[result.outcome != "synced"]                                    # doctest: +SKIP
>>> partners.aging("data/partners", "2025-06-30")                         # doctest: +SKIP
"""

from .._extras import require

require("partners", "ppnb.partners")  # dask: one line naming the extra if it is missing

from ._analysis import aging, kpis  # noqa: E402
from ._dataset import load, merchants  # noqa: E402
from ._sync import sync  # noqa: E402
from ._task import RESULT_COLUMNS  # noqa: E402

__all__ = ["RESULT_COLUMNS", "aging", "kpis", "load", "merchants", "sync"]
