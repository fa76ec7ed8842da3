"""The IBM accounts-receivable sample, loaded through the API: every row checked first."""

from __future__ import annotations

import csv
import datetime as dt
import time
from pathlib import Path

from ..client import Client
from ..money import MoneyError, format_amount, parse_amount
from ._report import Plan, SeedError, SeedReport
from ._run import WORKERS, run

__all__ = ["IBM_COLUMNS", "seed_ibm"]

#: The columns the IBM accounts-receivable sample must have.
IBM_COLUMNS = ("countryCode", "customerID", "PaperlessDate", "invoiceNumber", "InvoiceDate",
               "DueDate", "InvoiceAmount", "Disputed", "SettledDate", "PaperlessBill",
               "DaysToSettle", "DaysLate")


def _date(text: str, column: str, line: int, number: str) -> dt.date:
    try:
        return dt.datetime.strptime(text.strip(), "%m/%d/%Y").date()
    except ValueError:
        raise SeedError(f"{column} {text!r} is not a month/day/year date", line=line,
                        invoice_number=number) from None


def _ibm_plans(csv_path: str | Path) -> list[Plan]:
    """Read and check every row of the IBM sample; raise before anything is written."""
    path = Path(csv_path)
    try:
        handle = path.open(newline="", encoding="utf-8-sig")
    except OSError as exc:
        raise SeedError(f"cannot read {path}: {exc.strerror or exc}") from None
    plans: list[Plan] = []
    seen: dict[str, int] = {}
    with handle:
        reader = csv.DictReader(handle)
        missing = [c for c in IBM_COLUMNS if c not in (reader.fieldnames or [])]
        if missing:
            raise SeedError(f"{path} lacks column(s) {', '.join(missing)}")
        for row in reader:
            line = reader.line_num
            number = (row["invoiceNumber"] or "").strip()
            if not number or len(number) > 25:
                raise SeedError("invoiceNumber must have 1 to 25 characters", line=line,
                                invoice_number=number)
            if number in seen:
                raise SeedError(f"invoiceNumber repeats line {seen[number]}", line=line,
                                invoice_number=number)
            seen[number] = line
            issued = _date(row["InvoiceDate"], "InvoiceDate", line, number)
            due = _date(row["DueDate"], "DueDate", line, number)
            settled = _date(row["SettledDate"], "SettledDate", line, number)
            if due != issued + dt.timedelta(days=30):
                raise SeedError(f"DueDate {row['DueDate']} is not InvoiceDate "
                                f"{row['InvoiceDate']} + 30 days", line=line,
                                invoice_number=number)
            try:
                amount = parse_amount(row["InvoiceAmount"].strip(), "USD")
            except MoneyError as exc:
                raise SeedError(f"InvoiceAmount: {exc}", line=line,
                                invoice_number=number) from None
            if amount <= 0:
                raise SeedError(f"InvoiceAmount {row['InvoiceAmount']} is not positive",
                                line=line, invoice_number=number)
            if row["Disputed"] not in ("Yes", "No"):
                raise SeedError(f"Disputed {row['Disputed']!r} is not Yes or No", line=line,
                                invoice_number=number)
            customer = row["customerID"].strip()
            if not customer:
                raise SeedError("customerID is empty", line=line, invoice_number=number)
            value = format_amount(amount, "USD")
            detail = {"invoice_number": number, "currency_code": "USD",
                      "invoice_date": issued.isoformat(), "payment_term": {"term_type": "NET_30"},
                      "reference": row["countryCode"].strip()}
            if row["Disputed"] == "Yes":
                detail["memo"] = "disputed"
            plans.append(Plan(
                body={"detail": detail,
                      "primary_recipients": [{"billing_info": {
                          "business_name": customer,
                          "email_address": customer.lower() + "@example.com"}}],
                      "items": [{"name": "Invoice amount", "quantity": "1",
                                 "unit_amount": {"currency_code": "USD", "value": value}}]},
                send={"send_to_recipient": False},
                payments=[{"method": "BANK_TRANSFER", "payment_date": settled.isoformat(),
                           "amount": {"currency_code": "USD", "value": value}}],
            ))
    if not plans:
        raise SeedError(f"{path} has no rows")
    return plans


def seed_ibm(client: Client, csv_path: str | Path, *, workers: int = WORKERS,
             progress: bool = False) -> SeedReport:
    """Load the IBM accounts-receivable sample through the API.

    Each row becomes a USD invoice numbered exactly as ``invoiceNumber`` (leading zeros
    kept), dated ``InvoiceDate`` on NET_30 terms, for ``customerID`` (business name; email
    ``<customerid>@example.com``), with ``countryCode`` as reference and memo
    ``"disputed"`` for disputed rows. It is sent without emailing the customer and paid in
    full by bank transfer on ``SettledDate``, leaving it MARKED_AS_PAID.

    Parameters
    ----------
    client
        Where to write.
    csv_path
        The sample's CSV (dates month/day/year).
    workers
        Concurrent requests.
    progress
        Show a tqdm bar on stderr.

    Returns
    -------
    SeedReport
        ``created``; ``skipped`` for numbers already present (a second load creates none).

    Raises
    ------
    SeedError
        For a missing file, missing columns, or a bad row (bad date or amount, a repeated
        number, ``DueDate`` not 30 days after ``InvoiceDate``), naming the line and number.
        Every row is checked before the first request, so nothing is half-written.
    """
    started = time.monotonic()
    plans = _ibm_plans(csv_path)
    report = SeedReport("ibm")
    run(client, plans, report, workers=workers, progress=progress)
    report.seconds = time.monotonic() - started
    return report
