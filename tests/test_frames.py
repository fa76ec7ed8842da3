"""``ppnb.frames``: invoices from a real emulator become exact, typed tables.

The scenario tests build a small book over loopback HTTP (USD and JPY, part payments, a
refund, a cancellation, drafts with and without a recipient, items with tax and discounts),
flatten the search results and check every table against values worked out by hand. The
property tests need no server: synthetic invoices with random amounts, spelled every way
PayPal's money pattern allows, must give minor units equal to ``Decimal`` arithmetic.
"""

from __future__ import annotations

import copy
import subprocess
import sys
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import numpy as np
import pandas as pd
import pytest
from helpers import Api, invoice_body, new_merchant
from hypothesis import given, settings
from hypothesis import strategies as st

from ppnb.emulator import RunningEmulator
from ppnb.frames import (
    INVOICE_COLUMNS,
    ITEM_COLUMNS,
    PAYMENT_COLUMNS,
    REFUND_COLUMNS,
    Tables,
    assemble,
    concat,
    empty_tables,
    flatten,
    walk,
)
from ppnb.money import MoneyError, from_minor, to_minor

INV = "/v2/invoicing/invoices"
SEARCH = "/v2/invoicing/search-invoices"
FIELDS = {"fields": ["items", "payments", "refunds"]}
SCHEMAS = (INVOICE_COLUMNS, ITEM_COLUMNS, PAYMENT_COLUMNS, REFUND_COLUMNS)


def assert_schema(tables: Tables) -> None:
    """Every table has exactly its documented columns, in order, with their dtypes."""
    for frame, schema in zip(tables, SCHEMAS, strict=True):
        assert list(frame.columns) == list(schema)
        assert dict(frame.dtypes) == schema


def by_id(frame: pd.DataFrame, invoice_id: str) -> pd.Series:
    (row,) = frame.index[frame["id"] == invoice_id]
    return frame.loc[row]


# --- a real book, over loopback ---------------------------------------------------------------


@dataclass
class Book:
    ids: dict[str, str]  # scenario name -> invoice id
    found: list[dict[str, Any]]  # search results with items, payments and refunds
    fetched: list[dict[str, Any]]  # the same invoices by GET, in the same order


def usd(value: str) -> dict[str, str]:
    return {"currency_code": "USD", "value": value}


@pytest.fixture(scope="module")
def book(server: RunningEmulator) -> Iterator[Book]:
    """Six invoices of one merchant, in every state the tables must represent."""
    api = Api(server.base_url, *new_merchant(server.emulator))
    ids: dict[str, str] = {}
    # USD, taxed and discounted items, paid in two parts, then part refunded
    ids["refunded"] = api.sent(reference="PO-7", memo="Thank you", term="NET_30", items=[
        {"name": "Consulting", "description": "Design review", "quantity": "2",
         "unit_amount": usd("50.00"), "tax": {"name": "VAT", "percent": "20"},
         "discount": {"percent": "10"}, "item_date": "2025-01-10", "unit_of_measure": "HOURS"},
        {"name": "Travel", "quantity": "1.5", "unit_amount": usd("33.33"),
         "discount": {"amount": usd("5.00")}},
    ])["id"]
    assert api.pay(ids["refunded"], "53.00", note="deposit").status_code == 200
    assert api.pay(ids["refunded"], "100.00", method="CASH").status_code == 200
    refund = api.post(f"{INV}/{ids['refunded']}/refunds",
                      {"method": "BANK_TRANSFER", "amount": usd("20.00")})
    assert refund.status_code == 200, refund.text
    # USD, part paid
    ids["part_paid"] = api.sent()["id"]
    assert api.pay(ids["part_paid"], "30.00").status_code == 200
    # JPY (no minor digits), taxed, part paid
    ids["yen"] = api.sent(currency="JPY", items=[
        {"name": "Widget", "quantity": "3", "unit_amount": {"currency_code": "JPY",
                                                             "value": "1500"},
         "tax": {"name": "Consumption tax", "percent": "10"}}])["id"]
    assert api.pay(ids["yen"], "2000", currency="JPY").status_code == 200
    # sent, then cancelled
    ids["cancelled"] = api.sent()["id"]
    assert api.post(f"{INV}/{ids['cancelled']}/cancel", {}).status_code == 204
    # drafts: no recipient at all; a recipient known only by full name
    ids["no_recipient"] = api.create(email=None)["id"]
    body = invoice_body()
    body["primary_recipients"][0]["billing_info"]["name"] = {"full_name": "Grace Hopper"}
    created = api.post(INV, body)
    assert created.status_code == 201, created.text
    ids["full_name"] = created.json()["id"]

    response = api.post(SEARCH, FIELDS, params={"page_size": 100})
    assert response.status_code == 200, response.text
    found = response.json()["items"]
    fetched = [api.invoice(doc["id"]) for doc in found]
    yield Book(ids, found, fetched)
    api.http.close()


def test_invoices_table_holds_exact_amounts_names_and_times(book: Book) -> None:
    untouched = copy.deepcopy(book.found)
    tables = flatten(book.found)
    assert book.found == untouched  # flatten reads, never writes
    assert_schema(tables)
    inv = tables.invoices
    assert len(inv) == 6
    assert inv["id"].tolist() == [doc["id"] for doc in book.found]  # input order kept

    row = by_id(inv, book.ids["refunded"])
    # 2 x 50.00 - 10% + 20% VAT = 108.00; 1.5 x 33.33 = 49.995 -> 50.00, - 5.00 = 45.00
    assert (row["total_minor"], row["paid_minor"], row["refunded_minor"], row["due_minor"]) == (
        15300, 15300, 2000, 0)
    assert (row["total"], row["paid"], row["refunded"], row["due"]) == (153.0, 153.0, 20.0, 0.0)
    assert (row["status"], row["currency"], row["term_type"]) == (
        "PARTIALLY_REFUNDED", "USD", "NET_30")
    assert (row["reference"], row["memo"]) == ("PO-7", "Thank you")
    assert (row["recipient_email"], row["recipient_name"], row["recipient_business"]) == (
        "customer@example.com", "Ada Lovelace", "Analytical Engines Ltd")
    doc = next(d for d in book.found if d["id"] == book.ids["refunded"])
    metadata = doc["detail"]["metadata"]
    assert row["invoice_date"] == pd.Timestamp(doc["detail"]["invoice_date"])
    assert row["due_date"] - row["invoice_date"] == pd.Timedelta(days=30)
    assert row["created"] == pd.Timestamp(metadata["create_time"])
    assert row["created"].tz is not None and str(row["created"].tz) == "UTC"
    assert row["first_sent"] == pd.Timestamp(metadata["first_sent_time"])
    assert row["last_updated"] == pd.Timestamp(metadata["last_update_time"])
    assert row["cancelled"] is pd.NaT

    row = by_id(inv, book.ids["part_paid"])
    assert (row["status"], row["total_minor"], row["paid_minor"], row["due_minor"]) == (
        "PARTIALLY_PAID", 10000, 3000, 7000)

    row = by_id(inv, book.ids["yen"])  # 3 x 1500 + 10% = 4950 yen: minor units are yen
    assert (row["currency"], row["status"]) == ("JPY", "PARTIALLY_PAID")
    assert (row["total_minor"], row["paid_minor"], row["due_minor"]) == (4950, 2000, 2950)
    assert (row["total"], row["due"]) == (4950.0, 2950.0)

    row = by_id(inv, book.ids["cancelled"])
    cancel_time = next(d for d in book.found if d["id"] == book.ids["cancelled"])[
        "detail"]["metadata"]["cancel_time"]
    assert (row["status"], row["cancelled"]) == ("CANCELLED", pd.Timestamp(cancel_time))

    assert by_id(inv, book.ids["full_name"])["recipient_name"] == "Grace Hopper"


def test_missing_values_are_na_never_the_text_none(book: Book) -> None:
    tables = flatten(book.found)
    row = by_id(tables.invoices, book.ids["no_recipient"])
    assert row["status"] == "DRAFT"
    for column in ("recipient_email", "recipient_name", "recipient_business", "reference",
                   "memo"):
        assert row[column] is pd.NA
    for column in ("first_sent", "last_sent", "cancelled"):
        assert row[column] is pd.NaT
    assert (row["paid_minor"], row["refunded_minor"], row["due_minor"]) == (0, 0, 10000)
    for frame in tables:
        for column in frame.select_dtypes("string"):
            assert not frame[column].isin(["None", "nan", "NaT", ""]).any(), column


def test_items_table_has_one_row_per_line_with_tax_and_discount(book: Book) -> None:
    items = flatten(book.found).items
    assert len(items) == sum(len(doc["items"]) for doc in book.found) == 7
    assert not items.duplicated(["invoice_id", "line"]).any()
    first, second = (items[items["invoice_id"] == book.ids["refunded"]]
                     .sort_values("line").itertuples(index=False))
    assert (first.line, first.name, first.description, first.quantity, first.quantity_value) == (
        0, "Consulting", "Design review", "2", 2.0)
    assert (first.unit_amount_minor, first.discount_minor, first.tax_minor) == (5000, 1000, 1800)
    assert (first.tax_name, first.tax_percent, first.currency) == ("VAT", "20", "USD")
    assert (first.item_date, first.unit_of_measure) == (pd.Timestamp("2025-01-10"), "HOURS")
    assert (second.line, second.name, second.quantity, second.quantity_value) == (
        1, "Travel", "1.5", 1.5)
    assert (second.unit_amount_minor, second.discount_minor, second.tax_minor) == (3333, 500, 0)
    assert second.tax_name is pd.NA and second.tax_percent is pd.NA
    assert second.item_date is pd.NaT and second.description is pd.NA

    (yen,) = items[items["invoice_id"] == book.ids["yen"]].itertuples(index=False)
    assert (yen.unit_amount_minor, yen.tax_minor, yen.currency) == (1500, 450, "JPY")


def test_payments_and_refunds_reconcile_exactly_with_their_invoices(book: Book) -> None:
    inv, _, payments, refunds = flatten(book.found)
    assert len(payments) == 4 and len(refunds) == 1
    assert set(payments["invoice_id"]) | set(refunds["invoice_id"]) <= set(inv["id"])
    paid = payments.groupby("invoice_id")["amount_minor"].sum()
    refunded = refunds.groupby("invoice_id")["amount_minor"].sum()
    totals = inv.set_index("id")
    assert (totals["paid_minor"] == paid.reindex(totals.index, fill_value=0)).all()
    assert (totals["refunded_minor"] == refunded.reindex(totals.index, fill_value=0)).all()

    mine = payments[payments["invoice_id"] == book.ids["refunded"]]
    assert mine["amount_minor"].tolist() == [5300, 10000]
    assert mine["amount"].tolist() == [53.0, 100.0]
    assert mine["method"].tolist() == ["BANK_TRANSFER", "CASH"]
    assert mine["type"].tolist() == ["EXTERNAL", "EXTERNAL"]
    assert mine["note"].tolist() == ["deposit", pd.NA]
    doc = next(d for d in book.found if d["id"] == book.ids["refunded"])
    assert mine["payment_id"].tolist() == [
        t["payment_id"] for t in doc["payments"]["transactions"]]
    assert mine["payment_date"].tolist() == [
        pd.Timestamp(t["payment_date"]) for t in doc["payments"]["transactions"]]
    (yen,) = payments[payments["invoice_id"] == book.ids["yen"]].itertuples(index=False)
    assert (yen.amount_minor, yen.amount, yen.currency) == (2000, 2000.0, "JPY")

    (refund,) = refunds.itertuples(index=False)
    assert (refund.invoice_id, refund.amount_minor, refund.amount, refund.currency) == (
        book.ids["refunded"], 2000, 20.0, "USD")
    assert (refund.method, refund.type) == ("BANK_TRANSFER", "EXTERNAL")
    assert refund.refund_id == doc["refunds"]["transactions"][0]["refund_id"]
    assert refund.refund_date == pd.Timestamp(doc["refunds"]["transactions"][0]["refund_date"])


def test_get_invoice_bodies_flatten_like_search_results(book: Book) -> None:
    for searched, got in zip(flatten(book.found), flatten(book.fetched), strict=True):
        pd.testing.assert_frame_equal(searched, got)


def test_concat_of_pages_equals_one_flatten(book: Book) -> None:
    whole = flatten(book.found)
    pages = concat([flatten(book.found[:2]), flatten(book.found[2:2]), flatten(book.found[2:])])
    for left, right in zip(whole, pages, strict=True):
        pd.testing.assert_frame_equal(left, right)
    assert_schema(concat([]))


def test_pages_walked_as_they_come_assemble_to_one_flatten(book: Book) -> None:
    """What the pager does: each page read as it arrives, the tables built once."""
    whole = flatten(book.found)
    parts = [walk(book.found[:1]), walk(book.found[1:1]), walk(book.found[1:])]
    for left, right in zip(whole, assemble(parts), strict=True):
        pd.testing.assert_frame_equal(left, right)
    assert_schema(assemble([]))
    assert_schema(assemble([walk([])]))


# --- no server: amounts, properties, bad input ----------------------------------------------


def spell(minor: int, currency: str, style: str) -> str:
    """An amount as PayPal could send it: ``12.50``, ``12.5`` (shortest) or ``12.50000``."""
    amount = from_minor(minor, currency)
    if style == "shortest":
        return format(amount.normalize(), "f")
    text = format(amount, "f")
    if style == "padded":
        return text + ("000" if "." in text else ".000")
    return text


def synthetic(i: int, currency: str, value: str, payments: Sequence[str] = ()) -> dict[str, Any]:
    """A minimal invoice as the API shapes it, with a total and payment transactions."""
    doc: dict[str, Any] = {
        "id": f"INV2-TEST-{i:08d}",
        "status": "SENT",
        "detail": {"currency_code": currency, "invoice_number": f"T-{i}"},
        "amount": {"currency_code": currency, "value": value},
    }
    if payments:
        doc["payments"] = {"transactions": [
            {"payment_id": f"P-{i}-{n}", "method": "CASH", "type": "EXTERNAL",
             "amount": {"currency_code": currency, "value": v}}
            for n, v in enumerate(payments)]}
    return doc


AMOUNT = st.tuples(st.integers(-(10**13), 10**13),
                   st.sampled_from(["canonical", "shortest", "padded"]))
INVOICE = st.tuples(st.sampled_from(["USD", "EUR", "JPY"]), AMOUNT, st.lists(AMOUNT, max_size=3))


@settings(max_examples=150, deadline=None)
@given(st.lists(INVOICE, max_size=60))
def test_minor_units_equal_decimal_arithmetic(drawn: list[Any]) -> None:
    docs, totals, paid, payers = [], [], [], []
    for i, (currency, (minor, style), pays) in enumerate(drawn):
        value = spell(minor, currency, style)
        assert to_minor(Decimal(value), currency) == minor
        values = [spell(m, currency, s) for m, s in pays]
        docs.append(synthetic(i, currency, value, values))
        totals.append((currency, Decimal(value)))
        paid += [to_minor(Decimal(v), currency) for v in values]
        payers += [docs[-1]["id"]] * len(values)
    tables = flatten(docs)
    assert_schema(tables)
    inv = tables.invoices
    assert inv["total_minor"].tolist() == [to_minor(d, c) for c, d in totals]
    assert tables.payments["amount_minor"].tolist() == paid
    assert tables.payments["invoice_id"].tolist() == payers
    for currency in ("USD", "EUR", "JPY"):
        exact = sum((d for c, d in totals if c == currency), Decimal(0))
        summed = int(inv.loc[inv["currency"] == currency, "total_minor"].sum())
        assert from_minor(summed, currency) == exact


def test_a_million_amounts_sum_to_the_cent() -> None:
    """1,000,000 invoices through flatten: the int64 sum is the Decimal sum, per currency."""
    n = 1_000_000
    rng = np.random.default_rng(20250115)
    minors = rng.integers(1, 10**9, size=n).tolist()  # up to 10 million units each
    currencies = rng.choice(["USD", "EUR", "JPY"], size=n).tolist()
    values = [str(m) if c == "JPY" else f"{m // 100}.{m % 100:02d}"
              for m, c in zip(minors, currencies, strict=True)]
    details = {c: {"currency_code": c} for c in ("USD", "EUR", "JPY")}  # shared: only read
    docs = [{"id": str(i), "detail": details[c], "amount": {"value": v}}
            for i, (c, v) in enumerate(zip(currencies, values, strict=True))]
    inv = flatten(docs).invoices
    assert len(inv) == n and inv["total_minor"].dtype == np.int64
    exact = dict.fromkeys(details, Decimal(0))
    for value, currency in zip(values, currencies, strict=True):
        exact[currency] += Decimal(value)
    sums = inv.groupby("currency")["total_minor"].sum()
    for currency, total in exact.items():
        assert from_minor(int(sums[currency]), currency) == total


@pytest.mark.parametrize(("value", "currency", "minor"), [
    ("10.500", "USD", 1050),  # zeros past the minor unit change nothing
    ("1500.00", "JPY", 1500),
    (".5", "USD", 50),
    ("7", "EUR", 700),
    ("-0.50", "USD", -50),  # the spec allows negative amounts (e.g. a unit credit)
    ("0", "JPY", 0),
])
def test_every_spelling_of_an_exact_amount_is_read(value: str, currency: str,
                                                   minor: int) -> None:
    (total,) = flatten([synthetic(1, currency, value)]).invoices["total_minor"]
    assert total == minor


def full_doc() -> dict[str, Any]:
    """One invoice with every part the tables read: items, a payment and a refund."""
    return {
        "id": "INV2-BAD0-0000-0000-0001",
        "status": "PARTIALLY_REFUNDED",
        "detail": {"currency_code": "USD", "invoice_number": "0001",
                   "invoice_date": "2025-01-15",
                   "payment_term": {"term_type": "NET_30", "due_date": "2025-02-14"},
                   "metadata": {"create_time": "2025-01-15T09:00:00Z"}},
        "amount": usd("100.00"),
        "due_amount": usd("0.00"),
        "items": [{"name": "A", "quantity": "1", "unit_amount": usd("80.00")},
                  {"name": "B", "quantity": "1", "unit_amount": usd("20.00"),
                   "tax": {"name": "VAT", "percent": "0", "amount": usd("0.00")}}],
        "payments": {"paid_amount": usd("100.00"), "transactions": [
            {"payment_id": "P1", "payment_date": "2025-01-16", "method": "CASH",
             "type": "EXTERNAL", "amount": usd("100.00")}]},
        "refunds": {"refund_amount": usd("10.00"), "transactions": [
            {"refund_id": "R1", "refund_date": "2025-01-17", "method": "CASH",
             "type": "EXTERNAL", "amount": usd("10.00")}]},
    }


def put(path: str, value: Any) -> Callable[[dict[str, Any]], None]:
    """Set the field at a JSON path (``/items/1/unit_amount/value``) of an invoice dict."""
    *parents, last = [int(p) if p.isdigit() else p for p in path.strip("/").split("/")]

    def change(doc: dict[str, Any]) -> None:
        target: Any = doc
        for part in parents:
            target = target[part]
        target[last] = value

    return change


def yen(doc: dict[str, Any]) -> None:
    """Turn ``full_doc`` into a JPY invoice with whole-yen amounts, but for the total."""
    doc["detail"]["currency_code"] = "JPY"
    for money in (doc["amount"], doc["due_amount"], doc["items"][0]["unit_amount"],
                  doc["items"][1]["unit_amount"], doc["items"][1]["tax"]["amount"],
                  doc["payments"]["paid_amount"], doc["refunds"]["refund_amount"],
                  doc["payments"]["transactions"][0]["amount"],
                  doc["refunds"]["transactions"][0]["amount"]):
        money.update(currency_code="JPY", value=money["value"].split(".")[0])
    doc["amount"]["value"] = "100.5"


BAD_MONEY = [
    (put("/amount/value", "10.005"), "precision", "/amount/value", "10.005"),
    (yen, "precision", "/amount/value", "100.5"),
    (put("/items/0/unit_amount/value", "33.333"), "precision", "/items/0/unit_amount/value",
     "33.333"),
    (put("/items/1/tax/amount/value", "1.234"), "precision", "/items/1/tax/amount/value",
     "1.234"),
    (put("/payments/transactions/0/amount/value", "5.001"), "precision",
     "/payments/transactions/0/amount/value", "5.001"),
    (put("/refunds/transactions/0/amount/value", "0.001"), "precision",
     "/refunds/transactions/0/amount/value", "0.001"),
    (put("/due_amount/value", "12,00"), "syntax", "/due_amount/value", "12,00"),
    (put("/amount/value", 100.0), "syntax", "/amount/value", "100.0"),  # a JSON number
    (put("/amount/value", "1e3"), "syntax", "/amount/value", "1e3"),
    (put("/amount/value", "+1.00"), "syntax", "/amount/value", "+1.00"),
    (put("/amount/value", " 1.00"), "syntax", "/amount/value", "' 1.00'"),
    (put("/amount/value", "1."), "syntax", "/amount/value", "'1.'"),
    (put("/amount/value", ""), "syntax", "/amount/value", "''"),
    (put("/amount/value", "１.00"), "syntax", "/amount/value", "１.00"),  # a full-width digit
    (put("/amount/value", "10" * 10), "precision", "/amount/value", "too large"),
    (put("/payments/paid_amount/currency_code", "EUR"), "currency",
     "/payments/paid_amount/currency_code", "'EUR' is not the invoice's 'USD'"),
    (put("/items/1/tax/amount/currency_code", "EUR"), "currency",
     "/items/1/tax/amount/currency_code", "'EUR'"),
    (put("/refunds/transactions/0/amount/currency_code", "GBP"), "currency",
     "/refunds/transactions/0/amount/currency_code", "'GBP'"),
    (put("/detail/currency_code", "XYZ"), "currency", "/detail/currency_code", "XYZ"),
    (lambda doc: doc["detail"].pop("currency_code"), "currency", "/detail/currency_code",
     "None"),
]


@pytest.mark.parametrize(("change", "reason", "field", "shown"), BAD_MONEY)
def test_bad_money_is_refused_naming_invoice_and_field(
    change: Callable[[dict[str, Any]], None], reason: str, field: str, shown: str
) -> None:
    good, bad = full_doc(), full_doc()
    good["id"] = "INV2-GOOD-0000-0000-0001"
    change(bad)
    with pytest.raises(MoneyError) as caught:
        flatten([good, bad])
    message = str(caught.value)
    assert isinstance(caught.value, ValueError) and caught.value.reason == reason
    assert message.startswith(f"invoice {bad['id']}, {field}: "), message
    assert shown in message, message


def test_an_unsupported_currency_is_refused_even_when_consistent() -> None:
    with pytest.raises(MoneyError, match=r"^invoice INV2-TEST-00000002, /detail/currency_code: "
                                         r"currency 'ABC' is not supported$"):
        flatten([synthetic(1, "USD", "1.00"), synthetic(2, "ABC", "1.00")])


@pytest.mark.parametrize(("change", "shown"), [
    (put("/detail/invoice_date", "2025-02-30"), "/detail/invoice_date: "),
    (put("/payments/transactions/0/payment_date", "16/01/2025"),
     "/payments/transactions/*/payment_date: "),
    (put("/detail/metadata/create_time", "2025-01-15T09:00:00"),
     "/detail/metadata/create_time: "),  # RFC 3339 needs the zone
    (put("/detail/invoice_number", 1), "/detail/invoice_number: "),
    (put("/items/1/quantity", "two"), "invoice INV2-BAD0-0000-0000-0001, /items/1/quantity: "),
])
def test_bad_dates_text_and_quantities_are_refused_naming_the_field(
    change: Callable[[dict[str, Any]], None], shown: str
) -> None:
    good, bad = full_doc(), full_doc()
    good["id"] = "INV2-GOOD-0000-0000-0001"
    change(bad)
    with pytest.raises(ValueError, match="^" + shown.replace("*", r"\*")):
        flatten([good, bad])


def test_full_doc_reads_cleanly() -> None:
    """The base of the bad-input cases is itself valid, so each case tests one change."""
    inv, items, payments, refunds = flatten([full_doc()])
    assert inv["total_minor"].tolist() == [10000]
    assert items["unit_amount_minor"].tolist() == [8000, 2000]
    assert (payments["amount_minor"].tolist(), refunds["amount_minor"].tolist()) == (
        [10000], [1000])


def test_times_keep_fractions_and_offsets_in_utc() -> None:
    doc = full_doc()
    doc["detail"]["metadata"] = {"create_time": "2025-01-15T09:00:00.25+02:00",
                                 "last_update_time": "2025-01-15T23:59:59Z"}
    (row,) = flatten([doc]).invoices.itertuples(index=False)
    assert row.created == pd.Timestamp("2025-01-15T07:00:00.25", tz="UTC")
    assert row.last_updated == pd.Timestamp("2025-01-15T23:59:59", tz="UTC")


def test_empty_input_gives_typed_empty_tables() -> None:
    for tables in (flatten([]), flatten(iter(())), empty_tables(), concat([])):
        assert_schema(tables)
        assert [len(frame) for frame in tables] == [0, 0, 0, 0]


def test_tables_unpack_and_show_their_sizes() -> None:
    tables = flatten([full_doc(), synthetic(2, "JPY", "5")])
    inv, items, payments, refunds = tables
    assert inv is tables.invoices and refunds is tables.refunds
    assert repr(tables) == "Tables(invoices=2 rows, items=2 rows, payments=1 rows, refunds=1 rows)"
    assert [len(items), len(payments)] == [2, 1]


def test_subset_keeps_the_chosen_invoices_and_every_row_of_theirs(book: Book) -> None:
    tables = flatten(book.found)
    chosen = [book.ids["refunded"], book.ids["yen"], "INV2-NOT-THERE"]
    picked = tables.subset(chosen)
    assert_schema(picked)
    assert sorted(picked.invoices["id"]) == sorted(chosen[:2])
    for whole, part, key in zip(tables, picked, ("id", "invoice_id", "invoice_id",
                                                 "invoice_id"), strict=True):
        expected = whole[whole[key].isin(chosen[:2])].reset_index(drop=True)
        pd.testing.assert_frame_equal(part, expected)  # same rows, in order, fresh index
    assert len(picked.items) == 3 and len(picked.payments) == 3 and len(picked.refunds) == 1
    assert [len(t) for t in tables.subset(set())] == [0, 0, 0, 0]
    assert sorted(tables.subset(pd.Series(chosen)).invoices["id"]) == sorted(chosen[:2])


def test_frames_does_not_import_the_client_or_the_emulator() -> None:
    """Data flows one way (API -> pager -> frames): frames stands on its own."""
    code = ("import sys, ppnb.frames; print(sorted(m for m in sys.modules if m.startswith("
            "('ppnb.client', 'ppnb.emulator', 'ppnb.pager', 'httpx', 'starlette'))))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout
    assert out.strip() == "[]"
