"""The dashboard: its logic called directly, then ``ppnb dashboard`` in a real browser.

The browser test starts ``python -m ppnb.dashboard`` for real (the emulator over a temp
SQLite file, its clock started on a set day, a small demo book), opens the Voila page in
Debian's headless Chromium that may only reach loopback, changes the as-of date, watches the
numbers change, downloads the xlsx report and opens it.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Iterator
from pathlib import Path

import openpyxl
import pytest
from browser import isolated_env, loopback_page, screenshot, voila_server

from ppnb.analysis import aging
from ppnb.client import Client
from ppnb.dashboard import ALL, Dashboard, write_notebook
from ppnb.emulator import Clock, start
from ppnb.seed import seed_demo

DAY = dt.date(2025, 6, 30)


@pytest.fixture(scope="module")
def board() -> Iterator[Dashboard]:
    clock = Clock(dt.datetime.combine(DAY, dt.time(9), dt.UTC), frozen=True)
    with start(clock=clock) as running:
        creds = running.credentials
        with Client(running.base_url, creds.client_id, creds.client_secret) as client:
            seed_demo(client, invoices=200, customers=30, months=9)
            yield Dashboard.connect(client)
    running.emulator.close()


def section(board: Dashboard, name: str) -> str:
    return board._sections[name].value


def test_it_opens_on_the_books_today_with_money_shown_as_money(board: Dashboard) -> None:
    assert board.value == {"as_of": DAY, "currency": ALL, "customer": ALL,
                           "basis": "due_date"}
    assert "As of 2025-06-30" in board._status.value
    totals = section(board, "totals")
    currencies = sorted(aging(board.selection(), DAY).totals["currency"])
    assert len(currencies) >= 2  # the demo book owes in several currencies
    headers = re.findall(r"<th>([A-Z]{3})</th>", totals.split("</thead>")[0])
    assert headers == currencies  # side by side, one column each, never added together
    assert re.search(r"[\d,]+\.\d\d USD", totals)
    assert "<svg" in section(board, "charts")
    assert "ending_ar" in section(board, "kpis") and "open" in section(board, "customers")
    summary = section(board, "summary")  # no column of row numbers, and it scrolls in its box
    assert "overflow-x: auto" in summary and "<th></th>" not in summary.split("</thead>")[0]


def test_each_pick_changes_what_is_shown(board: Dashboard) -> None:
    before = section(board, "totals")
    board.set(as_of="2025-03-31")
    assert "As of 2025-03-31" in board._status.value and section(board, "totals") != before
    board.set(currency="USD")
    headers = re.findall(r"<th>([A-Z]{3})</th>", section(board, "totals").split("</thead>")[0])
    assert headers == ["USD"]
    customer = board.selection().invoices["recipient_email"].iloc[0]
    board.set(customer=customer)
    assert set(board.selection().invoices["recipient_email"]) == {customer}
    assert set(board.selection().payments["invoice_id"]) <= set(board.selection().invoices["id"])
    board.set(basis="invoice_date")
    assert "aged from the invoice date" in board._status.value
    with pytest.raises(TypeError, match="unknown picks"):
        board.set(colour="red")
    board.set(as_of=DAY, currency=ALL, customer=ALL, basis="due_date")


def test_reports_are_of_what_is_picked(board: Dashboard, tmp_path: Path) -> None:
    board.set(as_of="2025-05-31", currency="EUR")
    try:
        xlsx = board.report_file(".xlsx", tmp_path)
        sheet = openpyxl.load_workbook(xlsx, read_only=True)
        params = {row[0]: row[1] for row in sheet["Parameters"].iter_rows(values_only=True)}
        assert params["As of"] == "2025-05-31" and xlsx.name == "ar-2025-05-31.xlsx"
        currencies = {row[0] for row in sheet["Summary"].iter_rows(values_only=True)} - {None}
        assert "USD" not in currencies
        for suffix in (".html", ".pdf"):
            assert board.report_file(suffix, tmp_path).stat().st_size > 1000
        link = board.offer(".pdf")
        assert 'download="ar-2025-05-31.pdf"' in link and "data:application/pdf;base64," in link
        with pytest.raises(ValueError, match=r"not '\.csv'"):
            board.report_file(".csv", tmp_path)
    finally:
        board.set(as_of=DAY, currency=ALL)


def test_the_served_notebook_only_shows_the_dashboard(tmp_path: Path) -> None:
    notebook = json.loads(write_notebook(tmp_path).read_text())
    [cell] = notebook["cells"]
    assert "".join(cell["source"]).endswith("Dashboard.connect()")


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """``python -m ppnb.dashboard`` on a fresh small book whose clock starts on DAY."""
    home = tmp_path_factory.mktemp("dashboard-home")
    (home / "demo.json").write_text(json.dumps({"invoices": 200, "customers": 30,
                                                "months": 9}))
    with voila_server(["ppnb.dashboard", "--db", str(home / "book.sqlite"), "--out",
                       str(home / "out"), "--today", DAY.isoformat()],
                      isolated_env(home, PPNB_SEED=str(home / "demo.json")), home) as url:
        yield url


def test_dashboard_in_a_real_browser(served: str, tmp_path: Path) -> None:
    from playwright.sync_api import expect

    outside: list[tuple[str, str]] = []
    with loopback_page(tmp_path / "chromium", outside) as page:
        page.goto(served, timeout=180_000)
        status = page.locator(".ppnb-as-of")
        expect(status).to_have_text("As of 2025-06-30", timeout=180_000)
        totals = page.locator("table.ppnb-totals")
        before = totals.inner_text()
        assert re.search(r"[\d,]+\.\d\d USD", before)
        screenshot(page, "dashboard")

        page.locator(".ppnb-dashboard input[type='date']").fill("2025-03-31")
        expect(status).to_have_text("As of 2025-03-31", timeout=60_000)
        expect(totals).not_to_have_text(before)

        page.get_by_role("button", name="Prepare xlsx").click()
        link = page.locator("a.ppnb-download")
        expect(link).to_have_text("Download ar-2025-03-31.xlsx", timeout=60_000)
        with page.expect_download() as download:
            link.click()
        saved = tmp_path / download.value.suggested_filename
        download.value.save_as(saved)
    sheet = openpyxl.load_workbook(saved, read_only=True)["Parameters"]
    assert {row[0]: row[1] for row in sheet.iter_rows(values_only=True)}["As of"] == "2025-03-31"
    assert {kind for kind, _ in outside} <= {"stylesheet", "font"}, outside
