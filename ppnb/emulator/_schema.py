"""PayPal's request shapes: the spec's constraints, written with the nodes of
:mod:`._validation`.

Where PayPal's spec lists an exact description for a field's issue (``invoices.create-400``),
that text is used, so clients and PayPal's documentation agree.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from .._protocol import TERM_TYPES
from ..limits import EMAIL as EMAIL_PATTERN
from ..limits import EMAIL_LENGTH, MAX_LENGTH
from ._validation import Arr, Bool, Date, DateTime, Int, Node, Obj, Problems, Str, parse_datetime

_NUMBER = r"^((-?[0-9]+)|(-?([0-9]+)?[.][0-9]+))$"


# --- the spec's building blocks -------------------------------------------------------------

CURRENCY = Str(3, 3, desc="Currency code length should be 3 characters.")
MONEY_VALUE = Str(32, pattern=_NUMBER, desc=None)
MONEY = Obj({"currency_code": CURRENCY, "value": MONEY_VALUE}, required=("currency_code", "value"))
PERCENT = Str(32, pattern=_NUMBER)
EMAIL = Str(
    EMAIL_LENGTH[1], EMAIL_LENGTH[0], pattern=EMAIL_PATTERN.pattern,
    desc="Email address length should be between 3 and 254.",
)
COUNTRY = Str(2, 2, pattern=r"^([A-Z]{2}|C2)$", desc="Country code is invalid.")
PAYMENT_METHODS = (
    "BANK_TRANSFER", "CASH", "CHECK", "CREDIT_CARD", "DEBIT_CARD", "PAYPAL", "WIRE_TRANSFER",
    "OTHER",
)  # fmt: skip
INVOICE_STATUSES = (
    "DRAFT", "SENT", "SCHEDULED", "PAID", "MARKED_AS_PAID", "CANCELLED", "REFUNDED",
    "PARTIALLY_PAID", "PARTIALLY_REFUNDED", "MARKED_AS_REFUNDED", "UNPAID", "PAYMENT_PENDING",
)  # fmt: skip

NAME = Obj(
    {
        "prefix": Str(140),
        "given_name": Str(MAX_LENGTH["given_name"],
                          desc="Given name length should be less than 140 characters."),
        "surname": Str(MAX_LENGTH["surname"],
                       desc="Surname length should be less than 140 characters."),
        "middle_name": Str(140),
        "suffix": Str(140),
        "alternate_full_name": Str(300),
        "full_name": Str(300),
    }
)
ADDRESS = Obj(
    {
        "address_line_1": Str(300, desc="Address line1 length should be less than 300 characters."),
        "address_line_2": Str(300, desc="Address line2 length should be less than 300 characters."),
        "address_line_3": Str(100),
        "admin_area_4": Str(100),
        "admin_area_3": Str(100),
        "admin_area_2": Str(120, desc="Admin area2 length should be less than 300 characters."),
        "admin_area_1": Str(300, desc="Admin area1 length should be less than 300 characters."),
        "postal_code": Str(60, desc="Postal code length should be less than 60 characters."),
        "country_code": COUNTRY,
    },
    required=("country_code",),
)
PHONE = Obj(
    {
        "country_code": Str(3, 1, pattern=r"^[0-9]{1,3}?$",
                            desc="country code length should be between 1 and 3."),
        "national_number": Str(14, 1, pattern=r"^[0-9]{1,14}?$",
                               desc="National Number length should be between 1 and 14."),
        "extension_number": Str(15, 1, pattern=r"^[0-9]{1,15}?$"),
        "phone_type": Str(enum=("FAX", "HOME", "MOBILE", "OTHER", "PAGER")),
    },
    required=("country_code", "national_number", "phone_type"),
)
BUSINESS = Str(MAX_LENGTH["business_name"],
               desc="Business name length should be less than 300 characters.")
CONTACT = Obj({"business_name": BUSINESS, "name": NAME, "address": ADDRESS})
BILLING = Obj(
    {
        **CONTACT.props,
        "email_address": EMAIL,
        "phones": Arr(PHONE, 20),
        "additional_info": Str(
            40, desc="Additional information value length should be less than 40 characters."
        ),
        "language": Str(10, 2, pattern=r"^[a-z]{2}(?:-[A-Z][a-z]{3})?(?:-(?:[A-Z]{2}))?$",
                        desc="Language is invalid.", length_issue="INVALID_STRING_LENGTH"),
    }
)
INVOICER = Obj(
    {
        **CONTACT.props,
        "email_address": EMAIL,
        "phones": Arr(PHONE, 20),
        "website": Str(2048, desc="Website url length should be less than 2048 characters."),
        "tax_id": Str(100, desc="Tax id length should be less than 100 characters."),
        "additional_notes": Str(400),
        "logo_url": Str(2000, desc="Logo url length should be less than 4000 characters."),
    }
)
RECIPIENT = Obj({"billing_info": BILLING, "shipping_info": CONTACT})
TAX = Obj(
    {"name": Str(100, desc="Tax name length should be less than 100."), "percent": PERCENT},
    required=("name", "percent"),
)
DISCOUNT = Obj({"percent": PERCENT, "amount": MONEY})
ITEM = Obj(
    {
        "name": Str(MAX_LENGTH["item_name"],
                    desc="Item name length should be less than 200 characters."),
        "description": Str(1000,
                           desc="Item description length should be less than 1000 characters."),
        "quantity": Str(14, 1, pattern=_NUMBER, desc="Item quantity length should be 1 and 14."),
        "unit_amount": MONEY,
        "tax": TAX,
        "item_date": Date("Item Date is invalid."),
        "discount": DISCOUNT,
        "unit_of_measure": Str(enum=("QUANTITY", "HOURS", "AMOUNT")),
    },
    required=("name", "quantity", "unit_amount"),
)
ATTACHMENT = Obj(
    {
        "id": Str(255, 1, desc="Attachment id length should be between 1 and 255."),
        "reference_url": Str(2000, 1,
                             desc="Attachment reference url length should be between 1 and 2000."),
        "content_type": Str(255),
        "size": Str(20, pattern=r"^[0-9]+$"),
    }
)
_DETAIL_COMMON: dict[str, Node] = {
    "reference": Str(MAX_LENGTH["reference"],
                     desc="Reference field length should be less than 120 characters."),
    "currency_code": CURRENCY,
    "note": Str(MAX_LENGTH["note"],
                desc="Invoice note length should be less than 4000 characters."),
    "terms_and_conditions": Str(
        4000, desc="Terms and Conditions length should be less than 4000 characters."
    ),
    "memo": Str(MAX_LENGTH["memo"], desc="Memo length should be less than 4000 characters."),
    "attachments": Arr(ATTACHMENT, 5),
}
INVOICE_DETAIL = Obj(
    {
        **_DETAIL_COMMON,
        "invoice_number": Str(
            MAX_LENGTH["invoice_number"],
            desc="Invoice number length should be less than 25 characters.",
        ),
        "invoice_date": Date("Invoice date is invalid."),
        "payment_term": Obj(
            {"term_type": Str(enum=TERM_TYPES), "due_date": Date("Due date is invalid.")}
        ),
    },
    required=("currency_code",),
)
PARTIAL = Obj({"allow_partial_payment": Bool(), "minimum_amount_due": MONEY})
TEMPLATE_CONFIGURATION = Obj(
    {
        "tax_calculated_after_discount": Bool(),
        "tax_inclusive": Bool(),
        "allow_tip": Bool(),
        "partial_payment": PARTIAL,
    }
)
CONFIGURATION = Obj(
    {
        **TEMPLATE_CONFIGURATION.props,
        "template_id": Str(30, desc="Template Id length should be less than 22 characters."),
    }
)
AMOUNT = Obj(
    {
        "breakdown": Obj(
            {
                "discount": Obj({"invoice_discount": DISCOUNT}),
                "shipping": Obj({"amount": MONEY, "tax": TAX}),
                "custom": Obj(
                    {
                        "label": Str(50, desc="Custom label length should be less than 50 "
                                     "characters."),
                        "amount": MONEY,
                    },
                    required=("label",),
                ),
            }
        )
    }
)
_INVOICE_PROPS: dict[str, Node] = {
    "invoicer": INVOICER,
    "primary_recipients": Arr(RECIPIENT, 100),
    "additional_recipients": Arr(EMAIL, 100),
    "items": Arr(ITEM, 100, desc="An invoice can have at most 100 items."),
    "amount": AMOUNT,
}
#: The writable part of an invoice (create and full update). Read-only fields are dropped.
INVOICE = Obj(
    {"detail": INVOICE_DETAIL, **_INVOICE_PROPS, "configuration": CONFIGURATION},
    required=("detail",),
)
#: A template's ``template_info`` keeps the same shape, without invoice-only detail fields.
TEMPLATE_INFO = Obj(
    {
        "detail": Obj(
            {**_DETAIL_COMMON, "payment_term": Obj({"term_type": Str(enum=TERM_TYPES)})}
        ),
        **_INVOICE_PROPS,
        "configuration": TEMPLATE_CONFIGURATION,
    }
)
TEMPLATE_SETTINGS = Obj(
    {
        "template_item_settings": Arr(
            Obj(
                {
                    "field_name": Str(enum=("ITEMS_QUANTITY", "ITEMS_DESCRIPTION", "ITEMS_DATE",
                                            "ITEMS_DISCOUNT", "ITEMS_TAX")),
                    "display_preference": Obj({"hidden": Bool()}),
                }
            ),
            10,
        ),
        "template_subtotal_settings": Arr(
            Obj(
                {
                    "field_name": Str(enum=("DISCOUNT", "SHIPPING", "CUSTOM")),
                    "display_preference": Obj({"hidden": Bool()}),
                }
            ),
            10,
        ),
    }
)
TEMPLATE = Obj(
    {
        "name": Str(500, 1, desc="Template name length should be between 1 and 500."),
        "default_template": Bool(),
        "template_info": TEMPLATE_INFO,
        "settings": TEMPLATE_SETTINGS,
        "unit_of_measure": Str(enum=("QUANTITY", "HOURS", "AMOUNT")),
    },
    required=("name",),
)
NOTIFICATION = Obj(
    {
        "subject": Str(4000, desc="the value of a field is too long."),
        "note": Str(4000, desc="the value of a field is too long."),
        "send_to_invoicer": Bool(),
        "send_to_recipient": Bool(),
        "additional_recipients": Arr(
            EMAIL, 100,
            desc="Only maximum of 100 email address is supported in additional recipients.",
        ),
    }
)
_METHOD_MISSING = {"method": "Payment method is missing. Please provide a valid payment method."}
PAYMENT = Obj(
    {
        "payment_id": Str(22),
        "payment_date": Date("Date should be of format yyyy-mm-dd."),
        "method": Str(enum=PAYMENT_METHODS, enum_issue="INVALID_PAYMENT_METHOD",
                      desc="The value provided is not an acceptable method of payment."),
        "note": Str(2000),
        "amount": MONEY,
        "shipping_info": CONTACT,
    },
    required=("method",),
    missing=_METHOD_MISSING,
)
REFUND = Obj(
    {
        "refund_date": Date("Date should be of format yyyy-mm-dd."),
        "amount": MONEY,
        "method": Str(enum=PAYMENT_METHODS, enum_issue="INVALID_REFUND_METHOD",
                      desc="The value provided is not an acceptable method of refund."),
    },
    required=("method",),
    missing=_METHOD_MISSING,
)
QR_CONFIG = Obj(
    {
        "width": Int(150, 500),
        "height": Int(150, 500),
        "action": Str(7, pattern=r"^(?i:pay|details)$",
                      desc="Value of the field does not conform to the expected format."),
    }
)


def _ordered(parse: Callable[[str], Any]) -> Callable[[dict[str, Any], str, Problems], None]:
    """A range check: ``end`` must not come before ``start`` (when both are valid)."""

    def check(clean: dict[str, Any], path: str, problems: Problems) -> None:
        start, end = clean.get("start"), clean.get("end")
        if start is not None and end is not None and parse(end) < parse(start):
            problems.add(f"{path}/end", "INVALID_PARAMETER_VALUE",
                         "The end of the range must not be before its start.", end)

    return check


_RANGE_DATE = Obj({"start": Date(), "end": Date()}, required=("start", "end"),
                  extra=_ordered(dt.date.fromisoformat))
_RANGE_DATETIME = Obj({"start": DateTime(), "end": DateTime()}, required=("start", "end"),
                      extra=_ordered(parse_datetime))
SEARCH = Obj(
    {
        "recipient_email": Str(254, desc="the value of a field is too long."),
        "recipient_first_name": Str(140, desc="the value of a field is too long."),
        "recipient_last_name": Str(140, desc="the value of a field is too long."),
        "recipient_business_name": Str(300, desc="the value of a field is too long."),
        "invoice_number": Str(25, desc="the value of a field is too long."),
        "status": Arr(Str(enum=INVOICE_STATUSES), 5,
                      desc="the number of items in an array parameter is too large."),
        "reference": Str(120, desc="the value of a field is too long."),
        "currency_code": Str(3, 3, desc="the value of a field is either too short or too long."),
        "memo": Str(500, desc="the value of a field is too long."),
        "total_amount_range": Obj(
            {"lower_amount": MONEY, "upper_amount": MONEY},
            required=("lower_amount", "upper_amount"),
        ),
        "invoice_date_range": _RANGE_DATE,
        "due_date_range": _RANGE_DATE,
        "payment_date_range": _RANGE_DATETIME,
        "creation_date_range": _RANGE_DATETIME,
        "archived": Bool(),
        "fields": Arr(Str(64), 10),
    }
)
