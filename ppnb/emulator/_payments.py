"""Payments and refunds: recorded by the merchant, or paid by the customer through PayPal.

Rules (PayPal's API reference and saved sandbox responses, OBSERVED.md):

* Payments: ``MARKED_AS_PAID`` (``PAID`` if any PayPal payment) once covered, else
  ``PARTIALLY_PAID``; never more than the amount due (422
  ``PAYMENT_AMOUNT_GREATER_THAN_AMOUNT_DUE``); no amount = the whole amount due; a date after
  today is a 400. A draft can be marked as paid (recorded payments only; its links offer
  ``record-payment``, as PayPal's do). At most 100 payments per invoice. Deleting an external
  payment undoes it (a draft that was never sent is a draft again).
* Refunds: never more than paid (422 ``INVALID_REFUND_AMOUNT``). On an invoice paid in full:
  all refunded → ``MARKED_AS_REFUNDED``, else ``PARTIALLY_REFUNDED``; on a partly paid one
  the status stays ``PARTIALLY_PAID``. Refunds do not reopen the amount due. Deleting a
  refund undoes it.
* The customer (the payer page, ``/_emulator/invoices/{id}/pay``) pays through PayPal: a
  ``PAYPAL`` payment, of less than is due only when the invoice allows partial payments, and
  not below its ``minimum_amount_due``.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import orjson

from ..money import MoneyError, decimals, format_amount, parse_amount
from . import _schema as S
from ._auth import Auth
from ._book import PAID_STATES, SENT_STATES, Book, Merchant, set_balances, total_of
from ._errors import ApiError, error, not_found
from ._invoices import Invoices
from ._outbox import Effects
from ._validation import validate


class Payments:
    """Payments and refunds on invoices (see the module notes for their rules).

    Parameters
    ----------
    book
        The invoices, loaded and saved; the clock that says what today is.
    auth
        Finds the merchant an invoice belongs to, for the customer's payments.
    invoices
        Reads the invoice a customer pays.
    effects
        Counts every payment and refund applied.
    """

    def __init__(self, book: Book, auth: Auth, invoices: Invoices, effects: Effects) -> None:
        self.book = book
        self.auth = auth
        self.invoices = invoices
        self.effects = effects

    def _transaction_amount(
        self, body: dict[str, Any], currency: str, default: Decimal, kind: str
    ) -> Decimal:
        if "amount" not in body:
            return default
        money = body["amount"]
        if money["currency_code"] != currency:
            raise error(400, "NOT_SUPPORTED",
                        "Currency code is not supported." if kind == "Payment" else
                        "Currency code is not supported. Please provide a valid currency code.",
                        "/amount/currency_code", money["currency_code"])
        def invalid() -> ApiError:
            issue = "INVALID_INTEGER_VALUE" if decimals(currency) == 0 else "INVALID_DECIMAL_VALUE"
            return error(400, issue, _amount_rule(kind, currency), "/amount/value",
                         money["value"])

        try:
            amount = parse_amount(money["value"], currency)
        except MoneyError as exc:
            if exc.reason == "syntax":
                raise error(400, "INVALID_PARAMETER_SYNTAX",
                            "Amount value is invalid. Should be a numeric value.",
                            "/amount/value", money["value"]) from None
            raise invalid() from None
        if amount == 0:
            raise error(400, "VALUE_CANNOT_BE_ZERO",
                        "Payment amount cannot be zero. Please provide a valid amount."
                        if kind == "Payment" else "Refund amount cannot be zero.",
                        "/amount/value", money["value"])
        if amount < 0:
            raise invalid()
        return amount

    def _check_date(self, value: str | None, field: str) -> str:
        today = self.book.clock.today().isoformat()
        if value is None:
            return today
        if value > today:
            raise error(400, "INVALID_PARAMETER_VALUE",
                        f"The date cannot be after today ({today}).", field, value)
        return value

    def record_payment(
        self, merchant: Merchant, invoice_id: str, body: Any, *, paypal: bool = False
    ) -> dict[str, str]:
        """Record a payment (external, or PayPal when ``paypal``); returns its reference."""
        clean = validate(S.PAYMENT, body)
        book = self.book
        with book.store.transaction():
            seq, doc, internal = book.load(merchant, invoice_id)
            currency = doc["detail"]["currency_code"]
            due = Decimal(doc["due_amount"]["value"])
            payable = SENT_STATES if paypal else (*SENT_STATES, "DRAFT")  # mark a draft paid
            if doc["status"] not in payable or due == 0:  # nothing (left) to pay
                raise error(422, "CANNOT_PROCESS_PAYMENTS",
                            "Current invoice state does not support payment processing.",
                            "/status", doc["status"])
            amount = self._transaction_amount(clean, currency, due, "Payment")
            if amount > due:
                raise error(422, "PAYMENT_AMOUNT_GREATER_THAN_AMOUNT_DUE",
                            "Payment amount is greater than the amount due.", "/amount/value",
                            format_amount(amount, currency))
            payment_id = (book.ids.paypal_transaction() if paypal
                          else book.ids.external_transaction())
            transaction = {
                "type": "PAYPAL" if paypal else "EXTERNAL",
                "payment_id": payment_id,
                "payment_date": self._check_date(clean.get("payment_date"), "/payment_date"),
                "method": clean["method"],
                "amount": {"currency_code": currency,
                           "value": format_amount(amount, currency)},
            }
            for key in ("note", "shipping_info"):
                if key in clean:
                    transaction[key] = clean[key]
            doc.setdefault("payments", {}).setdefault("transactions", []).append(transaction)
            if len(doc["payments"]["transactions"]) > 100:
                raise error(422, "MAX_TRANSACTIONS", "An invoice holds at most 100 payments.")
            set_balances(doc, internal)
            book.save(merchant, doc, internal, seq, event="PAID")
            self.effects.count(merchant, "payments", invoice_id)
        return {"payment_id": payment_id}

    def delete_payment(self, merchant: Merchant, invoice_id: str, transaction_id: str) -> None:
        """Undo an external payment."""
        with self.book.store.transaction():
            seq, doc, internal = self.book.load(merchant, invoice_id)
            transactions = (doc.get("payments") or {}).get("transactions", [])
            match = [t for t in transactions if t["payment_id"] == transaction_id]
            if not match:
                raise not_found("transaction", transaction_id)
            if match[0]["type"] != "EXTERNAL":
                raise error(422, "CANNOT_DELETE_PAYPAL_PAYMENT",
                            "Only external (recorded) payments can be deleted.",
                            "transaction_id", transaction_id, "path")
            remaining = total_of(doc.get("payments"), "paid_amount") - Decimal(
                match[0]["amount"]["value"])
            if remaining < total_of(doc.get("refunds"), "refund_amount"):
                raise error(422, "CANNOT_DELETE_EXTERNAL_PAYMENT",
                            "The external payment cannot be deleted as the recorded refund cannot "
                            "exceed the recored payment for an invoice.", "transaction_id",
                            transaction_id, "path")
            doc["payments"]["transactions"] = [t for t in transactions if t is not match[0]]
            set_balances(doc, internal)
            self.book.save(merchant, doc, internal, seq, event="UPDATED")

    def record_refund(self, merchant: Merchant, invoice_id: str, body: Any) -> dict[str, str]:
        """Record an external refund; returns its reference."""
        clean = validate(S.REFUND, body)
        book = self.book
        with book.store.transaction():
            seq, doc, internal = book.load(merchant, invoice_id)
            currency = doc["detail"]["currency_code"]
            paid = total_of(doc.get("payments"), "paid_amount")
            refunded = total_of(doc.get("refunds"), "refund_amount")
            if paid == 0 or doc["status"] not in (*PAID_STATES, "PARTIALLY_REFUNDED"):
                raise error(422, "CANNOT_PROCESS_REFUNDS",
                            "Current invoice state does not support refunds.", "/status",
                            doc["status"])
            amount = self._transaction_amount(clean, currency, paid - refunded, "Refund")
            if amount > paid - refunded:
                raise error(422, "INVALID_REFUND_AMOUNT",
                            "Recorded refunds cannot exceed recorded payments.", "/amount/value",
                            format_amount(amount, currency))
            refund_id = book.ids.external_transaction()
            doc.setdefault("refunds", {}).setdefault("transactions", []).append({
                "type": "EXTERNAL",
                "refund_id": refund_id,
                "refund_date": self._check_date(clean.get("refund_date"), "/refund_date"),
                "amount": {"currency_code": currency, "value": format_amount(amount, currency)},
                "method": clean["method"],
            })
            set_balances(doc, internal)
            book.save(merchant, doc, internal, seq, event="REFUNDED")
            self.effects.count(merchant, "refunds", invoice_id)
        return {"refund_id": refund_id}

    def delete_refund(self, merchant: Merchant, invoice_id: str, transaction_id: str) -> None:
        """Undo an external refund."""
        with self.book.store.transaction():
            seq, doc, internal = self.book.load(merchant, invoice_id)
            transactions = (doc.get("refunds") or {}).get("transactions", [])
            kept = [t for t in transactions if t["refund_id"] != transaction_id]
            if len(kept) == len(transactions):
                raise not_found("transaction", transaction_id)
            doc["refunds"]["transactions"] = kept
            set_balances(doc, internal)
            self.book.save(merchant, doc, internal, seq, event="UPDATED")

    # --- the customer ---------------------------------------------------------------------

    def public_invoice(self, invoice_id: str) -> dict[str, Any]:
        """An invoice as its payer sees it (no credentials: the id is the secret)."""
        return orjson.loads(self.invoices.get_invoice(self.auth.owner(invoice_id), invoice_id))

    def pay_as_customer(self, invoice_id: str, amount: str | None = None,
                        payment_date: str | None = None) -> dict[str, str]:
        """The customer pays through PayPal: a ``PAYPAL`` payment of ``amount`` (default:
        all that is due) on ``payment_date`` (default: today).

        As on PayPal's payer page, a smaller amount is accepted only when the invoice allows
        partial payments, and not below its ``minimum_amount_due`` (422 otherwise).
        """
        merchant = self.auth.owner(invoice_id)
        body: dict[str, Any] = {"method": "PAYPAL"}
        if amount is not None:  # the payer page's rules: partial only if allowed, >= minimum
            doc = orjson.loads(self.invoices.get_invoice(merchant, invoice_id))
            body["amount"] = {"currency_code": doc["detail"]["currency_code"],
                              "value": _customer_amount(doc, str(amount))}
        if payment_date is not None:
            body["payment_date"] = payment_date
        with self.book.store.transaction():
            reference = self.record_payment(merchant, invoice_id, body, paypal=True)
            status = self.book.store.one("SELECT status FROM invoices WHERE id = ?",
                                         (invoice_id,))
        return {**reference, "status": status[0]}


def _amount_rule(kind: str, currency: str) -> str:
    if decimals(currency) == 0:
        return (f"{kind} amount value is invalid. Can have non-negative value with maximum 6 "
                "digits.")
    return (f"{kind} amount value is invalid. Can have non-negative value with maximum 7 digits "
            "and upto 2 fractions.")


def _customer_amount(doc: dict[str, Any], text: str) -> str:
    """Check an amount the customer chose against the invoice's partial-payment settings.

    PayPal's payer page only lets the customer change the amount when the merchant allowed
    partial payments, and then not below ``minimum_amount_due`` (unless less than that is
    left to pay). Over-payment is left to the service, which refuses it atomically.

    Returns
    -------
    str
        The amount with exactly the currency's decimals (``"30"`` → ``"30.00"``).

    Raises
    ------
    ApiError
        422 for an amount that is not a number, not positive, or not allowed here.
    """
    currency = doc["detail"]["currency_code"]
    try:
        amount = parse_amount(text, currency)
    except MoneyError as exc:
        raise error(422, "INVALID_AMOUNT", f"Enter an amount such as {doc['due_amount']['value']}"
                    f" ({exc}).", "amount", text) from None
    due = Decimal(doc["due_amount"]["value"])
    partial = (doc.get("configuration") or {}).get("partial_payment") or {}
    if amount <= 0:
        raise error(422, "INVALID_AMOUNT", "The amount must be more than zero.", "amount", text)
    if amount < due and not partial.get("allow_partial_payment"):
        raise error(422, "PARTIAL_PAYMENT_NOT_ALLOWED",
                    "This invoice must be paid in full "
                    f"({doc['due_amount']['value']} {currency}).",
                    "amount", text)
    minimum = partial.get("minimum_amount_due")
    if minimum and amount < min(Decimal(minimum["value"]), due):
        raise error(422, "AMOUNT_BELOW_MINIMUM",
                    f"The minimum payment is {minimum['value']} {currency}.", "amount", text)
    return format_amount(amount, currency)
