"""The verbs that read the book and export or analyse it: ``ppnb pull``, ``ppnb aging``,
``ppnb kpis`` and ``ppnb report``.

Each works as of ``--as-of``, else the book's today (``client.today()``). An empty answer is
an answer, not a failure: ``pull`` whose filters match nothing writes the empty tables (with
their columns) and says ``nothing matched`` on stderr; ``aging`` with nothing outstanding and
``kpis`` with no invoices print so; each exits 0. ``aging`` and ``report`` add one total
converted into a target currency only when given ``--rates``, ``--rates-date`` and
``--rates-target`` (:class:`ppnb.analysis.Rates`). Text from the book never runs: CSV cells a
spreadsheet would read as formulas are neutralised, terminal tables show control characters
as escapes.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
from pathlib import Path
from typing import Any

from ._common import CommandError, add_verb, date_arg, range_arg, read_book, source_options

PULL_SUFFIXES = (".parquet", ".csv")


def _buckets_arg(text: str) -> tuple[int, ...]:
    from ..analysis import AnalysisError, bucket_labels

    try:
        edges = tuple(int(part) for part in text.split(","))
        bucket_labels(edges)
    except (ValueError, AnalysisError) as exc:
        detail = str(exc) if isinstance(exc, AnalysisError) else "not whole numbers"
        raise argparse.ArgumentTypeError(f"expected increasing day counts like 30,60,90, "
                                         f"got {text!r} ({detail})") from None
    return edges


def _rates_arg(text: str) -> dict[str, str]:
    """``CUR=RATE,...``: the value of one unit of each currency in the target."""
    rates: dict[str, str] = {}
    for part in text.split(","):
        currency, sep, rate = (side.strip() for side in part.partition("="))
        if not (sep and currency and rate):
            raise argparse.ArgumentTypeError(f"expected CUR=RATE,... like EUR=1.08,JPY=0.0067, "
                                             f"got {text!r}")
        if currency.upper() in rates:
            raise argparse.ArgumentTypeError(f"{currency.upper()} is given twice in {text!r}")
        rates[currency.upper()] = rate
    return rates


def _rates(args: argparse.Namespace) -> Any:
    """The :class:`ppnb.analysis.Rates` that ``--rates``, ``--rates-date`` and
    ``--rates-target`` describe (all three, or none: then ``None``), checked before the book
    is read."""
    given = {"--rates": args.rates, "--rates-date": args.rates_date,
             "--rates-target": args.rates_target}
    if all(value is None for value in given.values()):
        return None
    missing = [name for name, value in given.items() if value is None]
    if missing:
        raise CommandError(f"converting needs --rates, --rates-date and --rates-target "
                           f"together; missing {', '.join(missing)}")
    from ..analysis import Rates

    return Rates(args.rates_date, args.rates_target, args.rates)


def _pull(args: argparse.Namespace) -> int:
    from ..reports import check_target, replacing, write_csv

    target = check_target(args.out, PULL_SUFFIXES, "the invoices") if args.out else None
    if args.all_tables and target is None:
        raise CommandError("--all-tables needs --out FILE (the other tables go beside it)")
    filters = {name: value for name, value in (
        ("status", args.status), ("invoice_date", args.invoice_date),
        ("due_date", args.due_date), ("payment_date", args.payment_date),
        ("currency", args.currency), ("recipient_email", args.recipient_email),
        ("invoice_number", args.invoice_number)) if value is not None}
    tables, source, _ = read_book(args, dated=False, **filters)
    counts = ", ".join(f"{len(frame)} {name}" for name, frame in zip(
        ("invoices", "items", "payments", "refunds"), tables, strict=True))
    if tables.invoices.empty:
        counts += f" (nothing matched{' the filters' if filters else ''})"
    if target is None:
        write_csv(tables.invoices, sys.stdout)
        print(f"pulled {counts} from {source}", file=sys.stderr)
        return 0
    outputs = [(target, tables.invoices)]
    if args.all_tables:
        outputs += [(target.with_name(f"{target.stem}.{name}{target.suffix}"), frame)
                    for name, frame in (("items", tables.items), ("payments", tables.payments),
                                        ("refunds", tables.refunds))]
    for path, frame in outputs:
        with replacing(path) as temporary:
            if path.suffix.lower() == ".csv":
                write_csv(frame, temporary)
            else:
                frame.to_parquet(temporary, index=False)
    print(f"pulled {counts} from {source}; wrote {', '.join(str(p) for p, _ in outputs)}",
          file=sys.stderr)
    return 0


def _aging(args: argparse.Namespace) -> int:
    import pandas as pd

    from ..analysis import aging
    from ..reports import write_csv

    rates = _rates(args)
    tables, _, as_of = read_book(args)
    aged = aging(tables, as_of, basis=args.basis, buckets=args.buckets, by=args.by,
                 rates=rates)
    document = aged.to_json()
    if args.format == "json":
        print(json.dumps(document, indent=2, ensure_ascii=False))
    elif args.format == "csv":
        columns = [*aged.by, "currency", *aged.labels, "total"]
        write_csv(pd.DataFrame(document["rows"], columns=columns), sys.stdout)
    else:
        print(_aging_table(aged))
    return 0


def _aging_table(aged: Any) -> str:
    """A plain-text aging: per currency, its groups (largest first) and a total line. Text
    from the book is shown with its control characters as escapes
    (:func:`ppnb.display.visible`): a name cannot move the cursor, recolour, ring or
    reorder the terminal."""
    import pandas as pd

    from ..display import format_money, visible

    amounts = [*aged.labels, "total"]
    keys = [k for k in aged.by if k != "customer_name"]
    lines = [f"Receivables aging as of {aged.as_of} ({aged.basis} basis)"]
    if aged.totals.empty:
        return lines[0] + "\nnothing outstanding"
    for total in aged.totals.to_dict("records"):
        currency = total["currency"]
        rows = aged.summary[aged.summary["currency"] == currency].sort_values(
            "total", ascending=False)
        # a customer is shown by name (its key, the email, when it has none)
        shown = pd.DataFrame({k: (rows["customer_name"].fillna(rows[k]) if k == "customer"
                                  else rows[k]).astype(str).map(visible) for k in keys})
        for column in amounts:
            shown[column] = [format_money(m, currency) for m in rows[column]]
        if keys:
            total_row = {**dict.fromkeys(keys, ""), keys[0]: "TOTAL",
                         **{c: format_money(total[c], currency) for c in amounts}}
            shown = pd.concat([shown, pd.DataFrame([total_row])], ignore_index=True)
        lines += ["", currency, shown.to_string(index=False)]
    converted = aged.converted_totals
    if converted is not None:  # with --rates: every currency converted, added, labelled
        target = aged.rates.target
        shown = pd.DataFrame({column: [format_money(converted[column].iat[0], target)]
                              for column in amounts})
        lines += ["", f"Converted: {aged.rates.label} ({aged.rates.describe()})",
                  shown.to_string(index=False)]
    return "\n".join(lines)


def _kpis(args: argparse.Namespace) -> int:
    import math

    from ..analysis import KPI_DAYS, kpis
    from ..money import format_amount, from_minor

    if args.as_of and args.start and args.as_of < args.start:
        raise CommandError(f"--end {args.as_of} is before --start {args.start}")
    tables, _, end = read_book(args)
    start = args.start or end - dt.timedelta(days=KPI_DAYS - 1)
    if end < start:
        raise CommandError(f"the book's today, {end}, is before --start {start}")
    frame = kpis(tables, start, end, basis=args.basis)
    rows = []
    for record in frame.to_dict("records"):
        row: dict[str, Any] = {}
        for key, value in record.items():
            if key.endswith("_minor"):
                currency = record["currency"]
                row[key.removesuffix("_minor")] = format_amount(from_minor(value, currency),
                                                                currency)
            elif isinstance(value, float):
                row[key] = None if math.isnan(value) else round(value, 4)
            elif hasattr(value, "isoformat"):
                row[key] = value.isoformat()[:10]
            else:
                row[key] = value.item() if hasattr(value, "item") else value
        rows.append(row)
    if args.format == "json":
        print(json.dumps({"start": start.isoformat(), "end": end.isoformat(),
                          "basis": args.basis, "rows": rows}, indent=2))
        return 0
    print(f"Collection KPIs {start} to {end} ({args.basis} basis)")
    if not rows:
        print("no invoices")
        return 0
    width = max(len(k) for k in rows[0])
    for key in rows[0]:
        values = ["" if r[key] is None else str(r[key]) for r in rows]
        print(f"{key:<{width}}  " + "  ".join(f"{v:>14}" for v in values))
    return 0


def _report(args: argparse.Namespace) -> int:
    from ..reports import FORMATS, check_target, report

    target = check_target(args.out, FORMATS, "a report")  # before the pull, not after
    rates = _rates(args)
    tables, source, as_of = read_book(args)
    report(tables, target, as_of=as_of, basis=args.basis, buckets=args.buckets,
           kpi_start=args.kpi_start, kpi_end=args.kpi_end, source=source,
           page_size=args.page_size, rates=rates)
    print(f"wrote {target} (as of {as_of})")
    return 0


def _as_of_option(verb: argparse.ArgumentParser) -> None:
    verb.add_argument("--as-of", type=date_arg, metavar="DATE",
                      help="the day the balances are rebuilt on (default: the book's today, "
                      "client.today(); a --snapshot needs one)")


def _aging_options(verb: argparse.ArgumentParser) -> None:
    verb.add_argument("--basis", choices=("due_date", "invoice_date"), default="due_date",
                      help="age from the due date (default) or the invoice date")
    verb.add_argument("--buckets", type=_buckets_arg, default=(30, 60, 90), metavar="D,D,...",
                      help="bucket edges in days (default 30,60,90)")
    rates = verb.add_argument_group(
        "one converted total (optional)",
        "Currencies are never added unless you give rates, all three options together; the "
        "per-currency figures stay, and the converted ones are labelled with the target and "
        "the rates' date (ppnb.analysis.Rates).")
    rates.add_argument("--rates", type=_rates_arg, metavar="CUR=RATE,...",
                       help="the value of one unit of each currency in the target, e.g. "
                       "EUR=1.08,JPY=0.0067 (every currency in the book needs one)")
    rates.add_argument("--rates-date", type=date_arg, metavar="DATE",
                       help="the day the rates are from (shown beside every converted figure)")
    rates.add_argument("--rates-target", metavar="CUR",
                       help="the currency converted figures are in, e.g. USD")


def add_data_verbs(verbs: Any) -> None:
    """``ppnb pull``, ``aging``, ``kpis`` and ``report``."""
    pull = add_verb(verbs, "pull", _pull, help="pull invoices into a Parquet or CSV file",
                    description="Fetch every matching invoice. With --out FILE.parquet|.csv "
                    "the invoices table is written there (with --all-tables also FILE.items, "
                    "FILE.payments and FILE.refunds beside it, same format); without --out it "
                    "goes to stdout as CSV. Amounts are exact *_minor integer columns. Filters "
                    "that match nothing write the empty tables, with their columns, and exit "
                    "0 (stderr says nothing matched).")
    pull.add_argument("--out", type=Path, help="FILE.parquet or FILE.csv (default: CSV on "
                      "stdout)")
    pull.add_argument("--all-tables", action="store_true",
                      help="also write the items, payments and refunds tables beside --out")
    pull.add_argument("--status", nargs="+", metavar="S",
                      help="only these statuses (1 to 5, e.g. SENT UNPAID PARTIALLY_PAID)")
    for name in ("invoice-date", "due-date", "payment-date"):
        pull.add_argument(f"--{name}", type=range_arg, metavar="START..END",
                          help=f"{name.replace('-', ' ')} range, inclusive; either end may be "
                          "empty")
    pull.add_argument("--currency", help="only invoices in this currency")
    pull.add_argument("--recipient-email", help="only this customer's invoices")
    pull.add_argument("--invoice-number", help="only the invoice with this number")
    source_options(pull, snapshot=False)

    aging = add_verb(verbs, "aging", _aging, help="aged receivables as of a date",
                     description="Rebuild the receivables as of --as-of from the payment "
                     "history and age them. One row per group and currency; currencies are "
                     "never added.")
    _as_of_option(aging)
    _aging_options(aging)
    aging.add_argument("--by", default="customer",
                       help="customer (default), currency, none, or an invoices column")
    aging.add_argument("--format", choices=("table", "csv", "json"), default="table")
    source_options(aging)

    kpis = add_verb(verbs, "kpis", _kpis,
                    help="collection KPIs (DSO, CEI, days to pay) for a period",
                    description="DSO (simple and count-back), best possible DSO, ADD, CEI and "
                    "payment timing for invoices paid in the period, one row per currency.")
    kpis.add_argument("--start", type=date_arg, metavar="DATE",
                      help="the period's first day (default: 90 days ending at --end)")
    kpis.add_argument("--end", "--as-of", dest="as_of", type=date_arg, metavar="DATE",
                      help="the period's last day (default: the book's today)")
    kpis.add_argument("--basis", choices=("due_date", "invoice_date"), default="due_date",
                      help="what 'current' AR is measured from (default due_date)")
    kpis.add_argument("--format", choices=("table", "json"), default="table")
    source_options(kpis)

    report = add_verb(verbs, "report", _report,
                      help="write an .xlsx, .html or .pdf receivables report",
                      description="Aging, KPIs, roll rates and charts as of a date, in the "
                      "format the --out suffix names. The file is replaced only once complete.")
    _as_of_option(report)
    report.add_argument("--out", type=Path, required=True, metavar="PATH.xlsx|.html|.pdf")
    report.add_argument("--page-size", choices=("A4", "Letter"), default="A4",
                        type=lambda text: text.capitalize() if text.lower() == "letter"
                        else text.upper(),
                        help="the PDF's pages (landscape), and the HTML's when printed "
                        "(default A4)")
    _aging_options(report)
    report.add_argument("--kpi-start", type=date_arg, metavar="DATE",
                        help="KPI period start (default: 90 days ending at --kpi-end)")
    report.add_argument("--kpi-end", type=date_arg, metavar="DATE",
                        help="KPI period end (default: --as-of)")
    source_options(report)
