"""PayPal's legacy Invoicing v1 API, served on the same book as v2.

Seed 004 (PayPal's Invoicing overview) and PayPal's deprecated SDKs speak v1:
``/v1/invoicing/invoices``, ``/v1/invoicing/templates``, ``/v1/invoicing/search``, with
``merchant_info``, ``billing_info``, ``items[].unit_price``, ``total_amount`` and dates like
``"2014-02-27 PST"``. This package translates those shapes to and from the service's (v2)
ones and calls the same :class:`~ppnb.emulator._service.Invoicing`, so both dialects read and
act on the same invoices, with the same rules, totals (:mod:`ppnb.totals`), clock, outbox,
webhook events and merchants.

==========================  ======================================================
module                      does
==========================  ======================================================
:mod:`._inbound`            v1 invoice bodies → v2
:mod:`._outbound`           stored invoices and templates → v1 (links included)
:mod:`._templates`          v1 template bodies → v2
:mod:`._search`             list and search (offset pages, v1's prefix matching)
:mod:`._errors`             v1 error bodies, v2 field pointers → v1 field names
:mod:`._dates`              ``yyyy-MM-dd z`` dates, in the merchant's zone
:mod:`._extras`             v1 fields v2 has no place for (the shipping phone)
:mod:`._routes`             the routes
==========================  ======================================================
"""

from ._routes import v1_routes

__all__ = ["v1_routes"]
