"""Notebook 04 in a real browser: Voila serves it on loopback, headless Chromium clicks.

The test process serves a seeded emulator over a temporary SQLite file; the notebook's kernel
(started by Voila) calls ``ppnb.connect()`` with ``PPNB_EMULATOR_DB`` pointing at that file and
so joins the same emulator. HOME, the Jupyter directories and IPYTHONDIR are temporary, and the
page may only reach loopback.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from browser import SCREENSHOTS, isolated_env, loopback_page, voila_server
from helpers import wait_for

from ppnb.client import Client
from ppnb.connection import embedded_emulator
from ppnb.emulator import Control
from ppnb.lab import NOTEBOOKS
from ppnb.seed import seed_demo

NOTEBOOK = NOTEBOOKS / "04_actions.ipynb"
NOTE = "Your invoice is more than 30 days past due. Please pay at your earliest convenience."


@pytest.fixture(scope="module")
def book(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, Client]]:
    """A seeded emulator served by this process over a temporary SQLite file."""
    db = tmp_path_factory.mktemp("book") / "emulator.sqlite"
    previous = os.environ.get("PPNB_SEED")
    os.environ["PPNB_SEED"] = "none"  # seeded below, smaller than the default demo book
    try:
        base_url, client_id, secret = embedded_emulator(db)
    finally:
        if previous is None:
            del os.environ["PPNB_SEED"]
        else:
            os.environ["PPNB_SEED"] = previous
    with Client(base_url, client_id, secret) as client:
        seed_demo(client, invoices=120)
        yield db, client


@pytest.fixture(scope="module")
def voila(book: tuple[Path, Client], tmp_path_factory: pytest.TempPathFactory
          ) -> Iterator[str]:
    """Voila serving notebook 04 on loopback; yields its URL."""
    db, _ = book
    home = tmp_path_factory.mktemp("voila-home")
    env = isolated_env(home, PPNB_EMULATOR_DB=str(db), PPNB_SEED="none")
    with voila_server(["voila", str(NOTEBOOK), "--no-browser", "--Voila.ip=127.0.0.1",
                       "--VoilaExecutor.timeout=180"], env, home, startup=60) as url:
        yield url


@pytest.fixture(scope="module")
def page(voila: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """Notebook 04, rendered by Voila in headless Chromium, with every cell run."""
    outside: list[tuple[str, str]] = []
    with loopback_page(tmp_path_factory.mktemp("chromium-home"), outside) as opened:
        opened.goto(voila, timeout=180_000)
        opened.get_by_text("reminders to").first.wait_for(timeout=180_000)  # the last cell
        yield opened
    # Voila's template asks a CDN for the Font Awesome stylesheet (icons only); it is blocked,
    # and nothing else (no script, no data) may leave the machine.
    assert {kind for kind, _ in outside} <= {"stylesheet", "font"}, outside


def test_invoice_form_creates_an_invoice_from_the_browser(
    page: Any, book: tuple[Path, Client],
) -> None:
    _, client = book
    email = page.locator("input[placeholder='ada@example.com']").first
    email.fill("not an email")
    error = page.get_by_text("'not an email' is not an email address")
    error.wait_for()
    assert page.get_by_role("button", name="Create draft").is_disabled()
    email.fill("grace@example.com")
    error.wait_for(state="hidden")
    page.get_by_role("button", name="Create draft").click()

    def created() -> list[dict[str, Any]]:
        return client.invoices.search({"recipient_email": "grace@example.com"})["items"]
    [invoice] = wait_for(created, "the invoice made in the browser", 60, 0.1)
    assert invoice["status"] == "DRAFT"
    assert invoice["amount"]["value"] == "1028.38"  # 10 × 95.00 + 8.25 % tax
    page.locator("code.ppnb-id", has_text=invoice["id"]).wait_for()  # the new id and link
    link = page.locator(f"a[href$='/invoice/p/{invoice['id']}']")
    assert link.count() == 1


def test_bulk_widget_dry_run_confirm_and_result(page: Any, book: tuple[Path, Client]) -> None:
    from playwright.sync_api import expect

    _, client = book
    base = client.base_url

    def reminded() -> dict[str, int]:
        with Control.for_url(base) as control:  # this process serves the book
            emails = control.outbox(kind="reminder")
        counts: dict[str, int] = {}
        for mail in emails:
            # PayPal ignores a reminder's note; the emulator may keep it as requested_note
            if mail.get("requested_note", mail["note"]) == NOTE and mail["role"] == "recipient":
                counts[mail["invoice_id"]] = counts.get(mail["invoice_id"], 0) + 1
        return counts

    before = reminded()
    assert before and set(before.values()) == {1}  # the notebook's own bulk run
    run = page.get_by_role("button", name="Run", exact=True)
    assert run.is_disabled()
    page.get_by_role("button", name="Dry run: remind").click()
    summary = page.locator(".ppnb-plan-summary")
    expect(summary).to_contain_text(f"{len(before)} skipped")
    expect(page.locator("table.ppnb-plan").get_by_text("already done in this job")
           ).to_have_count(len(before))
    assert run.is_disabled()
    page.get_by_label("I have checked the dry run: run it").check()
    wait_for(run.is_enabled, "the Run button to be armed", 30, 0.1)
    run.click()
    page.locator(".ppnb-counts", has_text="done:").wait_for()
    expect(page.locator(".ppnb-counts .ppnb-skipped")).to_have_text(str(len(before)))
    expect(page.locator(".ppnb-counts .ppnb-ok")).to_have_text("0")
    expect(page.locator("table.ppnb-result").get_by_text("already done in this job")
           ).to_have_count(len(before))
    assert reminded() == before  # exactly one reminder each, still


def test_a_double_click_creates_one_invoice(page: Any, book: tuple[Path, Client]) -> None:
    from playwright.sync_api import expect

    _, client = book
    form = page.locator(".ppnb-invoice-form")
    form.locator("input[placeholder='ada@example.com']").fill("hopper@example.com")
    create = form.get_by_role("button", name="Create draft")
    expect(create).to_be_enabled()
    create.dblclick()

    def made() -> list[dict[str, Any]]:
        return client.invoices.search({"recipient_email": "hopper@example.com"})["items"]
    [invoice] = wait_for(made, "the invoice made by the double click", 60, 0.1)
    form.locator("code.ppnb-id", has_text=invoice["id"]).wait_for()
    expect(create).to_be_disabled()  # after success, until the form changes
    # The kernel handles the page's messages in order: once this change has cleared the
    # message, both clicks have been handled.
    form.locator("input[placeholder='private memo']").fill("after a double click")
    expect(form.locator(".ppnb-result")).to_have_count(0)
    expect(create).to_be_enabled()
    assert [i["id"] for i in made()] == [invoice["id"]]


def test_item_rows_line_up_under_their_labels(page: Any) -> None:
    from playwright.sync_api import expect

    form = page.locator(".ppnb-invoice-form")
    form.get_by_role("button", name="Add item").click()
    columns = ("name", "quantity", "unit", "tax", "discount")
    cells = form.locator(".ppnb-item-name")
    cells.nth(1).wait_for()
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    form.screenshot(path=str(SCREENSHOTS / "invoice_form.png"))  # the form alone
    for column in columns:
        head = form.locator(f".ppnb-item-head-{column}").bounding_box()
        for row in range(2):
            box = form.locator(f".ppnb-item-{column}").nth(row).bounding_box()
            assert abs(box["x"] - head["x"]) < 1 and abs(box["width"] - head["width"]) < 1, (
                column, row, box, head)
            assert box["y"] > head["y"] + head["height"] - 1
    # the rows start where the other inputs do (the email's), not under the labels
    email = form.locator("input[placeholder='ada@example.com']").bounding_box()
    label = form.get_by_text("Items", exact=True).bounding_box()
    name = form.locator(".ppnb-item-name input").first.bounding_box()
    assert name["x"] >= label["x"] + label["width"]
    assert abs(name["x"] - email["x"]) < 1, (name, email)
    create = form.get_by_role("button", name="Create draft").bounding_box()
    assert abs(create["x"] - email["x"]) < 1, (create, email)
    form.locator(".ppnb-item-remove").nth(1).click()
    expect(cells).to_have_count(1)
