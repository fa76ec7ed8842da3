"""The Invoicing v2 operations, one method each: ``client.invoices`` and ``client.templates``.

Bodies are plain dicts in and out; every id is escaped as one URL path segment.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping
from typing import Any, Protocol
from urllib.parse import quote

import httpx
import orjson

__all__ = ["INVOICES", "TEMPLATES", "Invoices", "Templates"]

INVOICES = "/v2/invoicing/invoices"
TEMPLATES = "/v2/invoicing/templates"


class _Caller(Protocol):
    """What the operations need of :class:`~ppnb.client.Client`."""

    def request(self, method: str, path: str, **kwargs: Any) -> httpx.Response: ...

    def call(self, method: str, path: str, **kwargs: Any) -> Any: ...

    def represented(self, method: str, path: str, **kwargs: Any) -> dict: ...


class Invoices:
    """Invoicing v2 invoice operations (``client.invoices``)."""

    def __init__(self, client: _Caller) -> None:
        self._c = client

    def create(self, invoice: Mapping[str, Any], *, request_id: str | None = None) -> dict:
        """Create a draft invoice; returns it (see :meth:`Client.represented`)."""
        return self._c.represented("POST", INVOICES, json=invoice, request_id=request_id)

    def list(self, *, page: int = 1, page_size: int = 20, total_required: bool = False,
             fields: str = "all") -> dict:
        """One page of invoices (``items``, ``links``, totals when asked)."""
        return self._c.call("GET", INVOICES, params={
            "page": page, "page_size": page_size, "total_required": _flag(total_required),
            "fields": fields})

    def get(self, invoice_id: str) -> dict:
        """One invoice."""
        return self._c.call("GET", f"{INVOICES}/{_seg(invoice_id)}")

    def update(self, invoice_id: str, invoice: Mapping[str, Any], *,
               send_to_recipient: bool | None = None,
               send_to_invoicer: bool | None = None) -> dict:
        """Fully replace an invoice (omitted fields are cleared); returns it."""
        params = {k: _flag(v) for k, v in (("send_to_recipient", send_to_recipient),
                                           ("send_to_invoicer", send_to_invoicer))
                  if v is not None}
        return self._c.represented("PUT", f"{INVOICES}/{_seg(invoice_id)}", json=invoice,
                                   params=params or None)

    def delete(self, invoice_id: str) -> None:
        """Delete a draft or scheduled invoice."""
        self._c.call("DELETE", f"{INVOICES}/{_seg(invoice_id)}")

    def send(self, invoice_id: str, notification: Mapping[str, Any] | None = None, *,
             request_id: str | None = None) -> dict:
        """Send (or schedule, for a future issue date) an invoice.

        Returns the body: a ``payer-view`` link when sent, ``{"links": [...]}`` when
        scheduled.
        """
        return self._c.call("POST", f"{INVOICES}/{_seg(invoice_id)}/send", json=notification or {},
                            request_id=request_id)

    def remind(self, invoice_id: str, notification: Mapping[str, Any] | None = None, *,
               request_id: str | None = None) -> None:
        """Send a payment reminder (at most 2 per invoice per day)."""
        self._c.call("POST", f"{INVOICES}/{_seg(invoice_id)}/remind", json=notification or {},
                     request_id=request_id)

    def cancel(self, invoice_id: str, notification: Mapping[str, Any] | None = None, *,
               request_id: str | None = None) -> None:
        """Cancel a sent invoice."""
        self._c.call("POST", f"{INVOICES}/{_seg(invoice_id)}/cancel", json=notification or {},
                     request_id=request_id)

    def record_payment(self, invoice_id: str, payment: Mapping[str, Any], *,
                       request_id: str | None = None) -> dict:
        """Record a payment (``invoices.payments``); returns ``{"payment_id": ...}``."""
        return self._c.call("POST", f"{INVOICES}/{_seg(invoice_id)}/payments", json=payment,
                            request_id=request_id)

    def delete_payment(self, invoice_id: str, transaction_id: str) -> None:
        """Delete an external payment."""
        self._c.call("DELETE", f"{INVOICES}/{_seg(invoice_id)}/payments/{_seg(transaction_id)}")

    def record_refund(self, invoice_id: str, refund: Mapping[str, Any], *,
                      request_id: str | None = None) -> dict:
        """Record a refund (``invoices.refunds``); returns ``{"refund_id": ...}``."""
        return self._c.call("POST", f"{INVOICES}/{_seg(invoice_id)}/refunds", json=refund,
                            request_id=request_id)

    def delete_refund(self, invoice_id: str, transaction_id: str) -> None:
        """Delete an external refund."""
        self._c.call("DELETE", f"{INVOICES}/{_seg(invoice_id)}/refunds/{_seg(transaction_id)}")

    def generate_qr_code(self, invoice_id: str, *, width: int = 500, height: int = 500,
                         action: str = "pay") -> bytes:
        """The invoice's QR code as PNG bytes (decoded from PayPal's base64 body)."""
        response = self._c.request("POST", f"{INVOICES}/{_seg(invoice_id)}/generate-qr-code",
                                   json={"width": width, "height": height, "action": action})
        return _qr_png(response)

    def generate_next_invoice_number(self) -> dict:
        """The next free invoice number: ``{"invoice_number": ...}``."""
        return self._c.call("POST", "/v2/invoicing/generate-next-invoice-number")

    def search(self, search_data: Mapping[str, Any] | None = None, *, page: int = 1,
               page_size: int = 20, total_required: bool = False) -> dict:
        """One page of invoices matching every filter in ``search_data``."""
        return orjson.loads(self.search_raw(search_data, page=page, page_size=page_size,
                                            total_required=total_required))

    def search_raw(self, search_data: Mapping[str, Any] | None = None, *, page: int = 1,
                   page_size: int = 20, total_required: bool = False) -> bytes:
        """The page :meth:`search` returns, as the JSON bytes PayPal sent.

        For a caller that decodes pages later: the pager keeps pages as bytes until it
        reads them into columns one at a time, so the invoices of a large pull never all
        sit in memory as Python objects at once (which would also make every garbage
        collection scan them).
        """
        return self._c.request("POST", "/v2/invoicing/search-invoices",
                               json=search_data or {}, read=True,
                               params={"page": page, "page_size": page_size,
                                       "total_required": _flag(total_required)}).content


class Templates:
    """Invoicing v2 template operations (``client.templates``)."""

    def __init__(self, client: _Caller) -> None:
        self._c = client

    def list(self, *, fields: str = "all", page: int = 1, page_size: int = 20) -> dict:
        """The merchant's templates with profile details."""
        return self._c.call("GET", TEMPLATES, params={"fields": fields, "page": page,
                                                      "page_size": page_size})

    def create(self, template: Mapping[str, Any], *, request_id: str | None = None) -> dict:
        """Create a template; returns it."""
        return self._c.represented("POST", TEMPLATES, json=template, request_id=request_id)

    def get(self, template_id: str) -> dict:
        """One template."""
        return self._c.call("GET", f"{TEMPLATES}/{_seg(template_id)}")

    def update(self, template_id: str, template: Mapping[str, Any]) -> dict:
        """Fully replace a template; returns it."""
        return self._c.represented("PUT", f"{TEMPLATES}/{_seg(template_id)}", json=template)

    def delete(self, template_id: str) -> None:
        """Delete a template."""
        self._c.call("DELETE", f"{TEMPLATES}/{_seg(template_id)}")


def _seg(value: str) -> str:
    """An id as one URL path segment: ``/``, ``?``, ``#``, spaces and dot segments escaped,
    so a typed id can never reach another resource (``x/../../templates``)."""
    text = str(value)
    if not text:
        raise ValueError("an id must not be empty")
    segment = quote(text, safe="")
    return segment.replace(".", "%2E") if segment in (".", "..") else segment


def _flag(value: bool) -> str:
    return "true" if value else "false"


def _qr_png(response: httpx.Response) -> bytes:
    """Extract the PNG from PayPal's multipart (or bare base64) QR-code body."""
    text = response.content.decode("ascii", "replace")
    if "\r\n\r\n" in text:
        text = text.split("\r\n\r\n", 1)[1].split("\r\n--", 1)[0]
    png = base64.b64decode("".join(text.split()))
    if not png.startswith(b"\x89PNG"):
        raise ValueError("the QR-code response did not contain a PNG image")
    return png
