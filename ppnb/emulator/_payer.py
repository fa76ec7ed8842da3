"""The payer page: what an invoice's recipient sees at ``recipient_view_url``.

PayPal sends customers to a hosted page where they read the invoice and pay it. The
emulator serves a small stand-in so that links in sent invoices and their QR codes lead
somewhere real, and so that a test (or a person in a browser) can pay as the customer:

* ``GET /invoice/p/{id}``: the invoice as self-contained HTML (inline CSS, no scripts, no
  external resources) with a Pay form while anything is due.
* ``POST /invoice/p/{id}/pay``: pays (form field ``amount`` optional, default the amount due)
  through :meth:`._payments.Payments.pay_as_customer`, then redirects back with 303 so that
  reloading the page never pays twice.
* ``GET /invoice/p/{id}/qr.png``: a QR code of the page's URL.

The page is public, as PayPal's is: the unguessable invoice id is the only key. Every value
that came from a merchant is HTML-escaped; amounts are shown exactly as stored (decimal
strings with their currency code), never recomputed with floats.
"""

from __future__ import annotations

from decimal import Decimal
from html import escape
from typing import Any
from urllib.parse import parse_qs, quote

from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Route

from ..money import format_amount
from ._book import SENT_STATES
from ._errors import ApiError
from ._qr import qr_png
from ._service import Invoicing

__all__ = ["payer_routes"]

#: Side of the QR code image on the page, in pixels.
QR_SIZE = 240

_CSS = """
body{font:15px/1.45 system-ui,sans-serif;color:#1a1a1a;background:#f3f4f6;margin:0}
main{max-width:720px;margin:2rem auto;background:#fff;padding:2rem;border-radius:8px;
box-shadow:0 1px 4px #0002}
h1{font-size:1.4rem;margin:0 0 .25rem}
.muted{color:#555}
table{width:100%;border-collapse:collapse;margin:1rem 0}
th,td{padding:.4rem .5rem;border-bottom:1px solid #e5e7eb;text-align:left}
td.num,th.num{text-align:right;font-variant-numeric:tabular-nums}
.due td{font-weight:700;font-size:1.1rem}
.status{display:inline-block;padding:.1rem .6rem;border-radius:1rem;background:#e5e7eb;
font-weight:600}
.error{background:#fee2e2;border:1px solid #f87171;padding:.6rem 1rem;border-radius:6px}
.done{background:#dcfce7;border:1px solid #4ade80;padding:.6rem 1rem;border-radius:6px}
form{margin:1.5rem 0}
button{font-size:1.05rem;padding:.6rem 2rem;border:0;border-radius:2rem;background:#0070ba;
color:#fff;cursor:pointer}
input{font-size:1rem;padding:.4rem;width:9rem}
.qr{float:right;margin-left:1rem}
"""


def payer_routes(service: Invoicing) -> list[Route]:
    """The payer page's routes, to mount next to the API (``create_app(extra_routes=...)``).

    Parameters
    ----------
    service
        The emulator's service; invoices are looked up across all merchants by id.
    """
    return PayerPage(service).routes()


class PayerPage:
    """Serves one service's invoices to their payers as HTML."""

    def __init__(self, service: Invoicing) -> None:
        self.service = service

    def routes(self) -> list[Route]:
        """The page, its Pay action and its QR code."""
        return [
            Route("/invoice/p/{invoice_id}", self.show, methods=["GET"]),
            Route("/invoice/p/{invoice_id}/pay", self.pay, methods=["POST"]),
            Route("/invoice/p/{invoice_id}/qr.png", self.qr, methods=["GET"]),
        ]

    async def show(self, request: Request) -> Response:
        """GET the invoice as the payer sees it (404 page for an unknown id)."""
        invoice_id = request.path_params["invoice_id"]
        try:
            doc = self.service.public_invoice(invoice_id)
        except ApiError as exc:
            return _not_found(invoice_id, exc)
        notice = "Thank you, your payment was received." if "paid" in request.query_params else None
        return HTMLResponse(render_invoice(doc, notice=notice))

    async def pay(self, request: Request) -> Response:
        """POST the Pay form: pay, then redirect back to the page (POST/redirect/GET)."""
        invoice_id = request.path_params["invoice_id"]
        form = parse_qs((await request.body()).decode("utf-8", "replace"))
        amount = (form.get("amount") or [""])[0].strip() or None
        try:
            self.service.pay_as_customer(invoice_id, amount=amount)
        except ApiError as exc:
            if exc.status == 404:
                return _not_found(invoice_id, exc)
            doc = self.service.public_invoice(invoice_id)
            return HTMLResponse(render_invoice(doc, error=_describe(exc)), exc.status)
        return RedirectResponse(f"/invoice/p/{quote(invoice_id, safe='')}?paid=1", 303)

    async def qr(self, request: Request) -> Response:
        """GET a PNG QR code of the page's absolute URL on this server."""
        invoice_id = request.path_params["invoice_id"]
        try:
            doc = self.service.public_invoice(invoice_id)
        except ApiError as exc:
            return _not_found(invoice_id, exc)
        base = str(request.base_url).rstrip("/")
        url = doc["detail"]["metadata"]["recipient_view_url"].replace(self.service.base, base)
        return Response(qr_png(url, QR_SIZE, QR_SIZE), media_type="image/png",
                        headers={"cache-control": "no-store"})


def _describe(exc: ApiError) -> str:
    """A payer-readable sentence for an error (its first detail's description)."""
    return exc.details[0].description if exc.details else exc.message


def _money(money: dict[str, str] | None, currency: str = "") -> str:
    """``"100.00 USD"`` from a stored money object, escaped; ``"0 USD"``-style when absent."""
    if not money:
        return escape(f"{format_amount(Decimal(0), currency)} {currency}")
    return escape(f"{money['value']} {money['currency_code']}")


def _name(party: dict[str, Any]) -> str:
    """A person's or business's display name (plain text, not yet escaped)."""
    name = party.get("name") or {}
    person = name.get("full_name") or " ".join(
        part for part in (name.get("given_name"), name.get("surname")) if part)
    business = party.get("business_name")
    if business and person:
        return f"{business} ({person})"
    return business or person or party.get("email_address") or ""


def _page(title: str, body: str) -> str:
    """A complete HTML document around ``body`` (``title`` must already be escaped)."""
    return (
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
        "<meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">"
        "<meta name=\"referrer\" content=\"no-referrer\">"
        f"<title>{title}</title><style>{_CSS}</style></head>"
        f"<body><main>{body}</main></body></html>\n"
    )


def _not_found(invoice_id: str, exc: ApiError) -> HTMLResponse:
    """The 404 page for an id no merchant has."""
    body = (f"<h1>Invoice not found</h1><p class=\"muted\">No invoice "
            f"<code>{escape(invoice_id)}</code> exists. Check the link you were sent.</p>")
    return HTMLResponse(_page("Invoice not found", body), exc.status)


def render_invoice(doc: dict[str, Any], *, error: str | None = None,
                   notice: str | None = None) -> str:
    """Render a stored invoice document as the payer's HTML page.

    Parameters
    ----------
    doc
        The invoice as stored (money as decimal strings).
    error
        A message to show above the invoice, e.g. why a payment was refused.
    notice
        A confirmation to show above the invoice, e.g. after a payment.
    """
    detail = doc["detail"]
    currency = detail["currency_code"]
    status = doc["status"]
    number = escape(detail.get("invoice_number", ""))
    invoicer = _name(doc.get("invoicer") or {})
    recipients = [r.get("billing_info") or {} for r in doc.get("primary_recipients") or []]
    due_amount = doc.get("due_amount")
    due = Decimal(due_amount["value"]) if due_amount else Decimal(0)
    parts = []
    if status in SENT_STATES and due > 0:
        parts.append(f"<img class=\"qr\" src=\"/invoice/p/{escape(quote(doc['id'], safe=''))}"
                     f"/qr.png\" width=\"120\" height=\"120\" alt=\"QR code of this page\">")
    parts.append(f"<h1>Invoice {number}</h1>")
    if invoicer:
        parts.append(f"<p class=\"muted\">from <strong class=\"invoicer\">{escape(invoicer)}"
                     "</strong></p>")
    parts.append(f"<p>Status: <span class=\"status\" id=\"status\">{escape(status)}</span></p>")
    if error:
        parts.append(f"<p class=\"error\" role=\"alert\">{escape(error)}</p>")
    if notice:
        parts.append(f"<p class=\"done\" role=\"status\">{escape(notice)}</p>")
    facts = [("Invoice number", number),
             ("Invoice date", escape(detail.get("invoice_date", ""))),
             ("Due date", escape((detail.get("payment_term") or {}).get("due_date", "")))]
    facts += [("Bill to", escape(_name(r))) for r in recipients if _name(r)]
    if detail.get("reference"):
        facts.append(("Reference", escape(detail["reference"])))
    parts.append("<table class=\"facts\">" + "".join(
        f"<tr><th>{label}</th><td>{value}</td></tr>" for label, value in facts if value)
        + "</table>")
    parts.append(_items_table(doc, currency))
    if detail.get("note"):
        parts.append(f"<p class=\"note\">{escape(detail['note'])}</p>")
    if detail.get("terms_and_conditions"):
        parts.append(f"<p class=\"muted terms\">{escape(detail['terms_and_conditions'])}</p>")
    parts.append(_pay_section(doc, due))
    return _page(f"Invoice {number}", "".join(parts))


def _items_table(doc: dict[str, Any], currency: str) -> str:
    """Line items, then the totals: total, amount paid, refunded and amount due."""
    rows = []
    for item in doc.get("items") or []:
        description = item.get("description")
        name = escape(item["name"]) + (
            f"<br><small class=\"muted\">{escape(description)}</small>" if description else "")
        rows.append(f"<tr class=\"item\"><td>{name}</td><td class=\"num\">"
                    f"{escape(item['quantity'])}</td><td class=\"num\">"
                    f"{_money(item['unit_amount'])}</td></tr>")
    breakdown = (doc.get("amount") or {}).get("breakdown") or {}
    discount = breakdown.get("discount") or {}
    totals = [
        ("Subtotal", breakdown.get("item_total"), ""),
        ("Item discounts", (discount.get("item_discount") or {}), ""),
        ("Invoice discount", (discount.get("invoice_discount") or {}).get("amount"), ""),
        ("Tax", breakdown.get("tax_total"), ""),
        ("Shipping", (breakdown.get("shipping") or {}).get("amount"), ""),
        ((breakdown.get("custom") or {}).get("label", ""),
         (breakdown.get("custom") or {}).get("amount"), ""),
        ("Total", doc.get("amount"), "total"),
        ("Amount paid", (doc.get("payments") or {}).get("paid_amount"), "paid"),
        ("Refunded", (doc.get("refunds") or {}).get("refund_amount"), "refunded"),
    ]
    foot = [f"<tr class=\"{css}\"><td colspan=\"2\">{escape(label)}</td>"
            f"<td class=\"num\">{_money(money, currency)}</td></tr>"
            for label, money, css in totals
            if (money and Decimal(money["value"])) or css in ("total", "paid")]
    foot.append(f"<tr class=\"due\"><td colspan=\"2\">Amount due</td><td class=\"num\" "
                f"id=\"amount-due\">{_money(doc.get('due_amount'), currency)}</td></tr>")
    return ("<table class=\"items\"><thead><tr><th>Item</th><th class=\"num\">Quantity</th>"
            "<th class=\"num\">Unit price</th></tr></thead><tbody>" + "".join(rows)
            + "</tbody><tfoot>" + "".join(foot) + "</tfoot></table>")


def _pay_section(doc: dict[str, Any], due: Decimal) -> str:
    """The Pay form while something is due on a sent invoice, else why there is none."""
    status = doc["status"]
    if status == "CANCELLED":
        return "<p class=\"closed\"><strong>Cancelled</strong>: this invoice cannot be paid.</p>"
    if status in ("DRAFT", "SCHEDULED"):
        return "<p class=\"closed\">This invoice has not been sent yet.</p>"
    if status not in SENT_STATES or due <= 0:
        return "<p class=\"closed\"><strong>Paid</strong>: nothing is due on this invoice.</p>"
    due_text = _money(doc["due_amount"])
    action = f"/invoice/p/{escape(quote(doc['id'], safe=''))}/pay"
    partial = (doc.get("configuration") or {}).get("partial_payment") or {}
    field = ""
    if partial.get("allow_partial_payment"):
        minimum = partial.get("minimum_amount_due")
        hint = f" (at least {_money(minimum)})" if minimum else ""
        field = (f"<p><label>Amount to pay{hint}: <input name=\"amount\" id=\"amount\" "
                 f"inputmode=\"decimal\" value=\"{escape(doc['due_amount']['value'])}\"> "
                 f"{escape(doc['due_amount']['currency_code'])}</label></p>")
        label = "Pay"
    else:
        label = f"Pay {due_text}"
    return (f"<form method=\"post\" action=\"{action}\" class=\"pay\">{field}"
            f"<button type=\"submit\" id=\"pay\">{label}</button></form>")
