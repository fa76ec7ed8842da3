"""Seed 004's curl samples, run verbatim against the emulator (issue 18).

Every ``curl`` in ``../shared/seeds/004_19f23d228be03ad8.txt`` is parsed out of the document
and sent as written (method, path, headers, body bytes), with only the host and the token
changed. Each answer is compared with the response the document shows after it: the same
keys at every level with the same values, HATEOAS links by relation, method and path, and
the HTTP status where the prose states one.

The document's ids (``TEMP-XYZ``, ``INV2-RUVR-…``, and the invoices its send and show
samples name) are PayPal's generated ids; the emulator is made to generate exactly those
(:class:`SeedIds`), so the samples need no editing. Its dates are of 2014: the emulator's
clock is frozen on the days the samples were taken (the create sample on 2014-02-27 at noon
Pacific, the shown invoice on 2014-03-24 at 12:11:52 PDT, as its ``created_date`` says).

Where the document's create response contradicts its own request (a billing email and a
merchant phone number that differ from what was sent, and PayPal's own invoice number
``ABCD4971``), the emulator answers with what was sent; those three values are checked
against the request instead.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import shlex
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
from conftest import SHARED

from ppnb.emulator import Clock, RunningEmulator, start
from ppnb.emulator._ids import IdFactory

SEED = SHARED / "seeds" / "004_19f23d228be03ad8.txt"
HOST = "https://api.sandbox.paypal.com"
TOKEN = "Access-Token"
FIRST_DAY = dt.datetime(2014, 2, 27, 20, 0, tzinfo=dt.UTC)  # 12:00 PST
SHOWN_AT = dt.datetime(2014, 3, 24, 19, 11, 52, tzinfo=dt.UTC)  # 12:11:52 PDT


@dataclass
class Sample:
    """One curl of the document and the answer the document shows for it."""

    method: str
    url: str
    headers: dict[str, str]
    data: str | None
    shown: Any  # the JSON the document shows next, or None
    status: int | None  # the HTTP status its prose names, if any


def samples() -> list[Sample]:
    """Every curl command of the seed, in order, with the response that follows it."""
    text = SEED.read_text()
    starts = [m.start() for m in re.finditer(r"^curl ", text, re.M)]
    out = []
    for n, begin in enumerate(starts):
        end = starts[n + 1] if n + 1 < len(starts) else len(text)
        command = _command(text[begin:end])
        words = shlex.split(command.replace("\\\n", " "))  # as a shell joins the lines
        method, url, headers, data = "GET", "", {}, None
        i = 1
        while i < len(words):
            word = words[i]
            if word == "-X":
                method, i = words[i + 1], i + 1
            elif word == "-H":
                name, _, value = words[i + 1].partition(":")
                headers[name.strip()] = value.strip()
                i += 1
            elif word == "-d":
                data, i = words[i + 1], i + 1
            elif not word.startswith("-"):
                url = word
            i += 1
        after = text[begin + len(command):end]
        brace = re.search(r"^\{", after, re.M)
        shown = json.JSONDecoder().raw_decode(after[brace.start():])[0] if brace else None
        status = re.search(r"HTTP (\d{3})", after)
        out.append(Sample(method, url, headers, data, shown,
                          int(status.group(1)) if status else None))
    return out


def _command(block: str) -> str:
    """The curl command at the start of ``block``: its lines up to the first one that neither
    continues with a backslash nor leaves a quote open."""
    lines = []
    for line in block.splitlines(keepends=True):
        lines.append(line)
        joined = "".join(lines)
        if not line.rstrip().endswith("\\") and joined.count("'") % 2 == 0:
            break
    return "".join(lines)


class SeedIds(IdFactory):
    """The emulator's id factory, made to hand out the document's ids first."""

    def __init__(self, invoices: list[str], templates: list[str]) -> None:
        super().__init__()
        self.invoices, self.templates = list(invoices), list(templates)

    def invoice(self) -> str:
        return self.invoices.pop(0) if self.invoices else super().invoice()

    def template(self) -> str:
        return self.templates.pop(0) if self.templates else super().template()


@dataclass
class Run:
    samples: list[Sample]
    answers: list[httpx.Response]
    base_url: str
    running: RunningEmulator


@pytest.fixture(scope="module")
def run() -> Iterator[Run]:
    """The document's walkthrough on a frozen 2014 emulator: template, create, send, show."""
    found = samples()
    template, create, send, show = found
    invoice_ids = [create.shown["id"], _path_id(show.url), _path_id(send.url)]
    with start(clock=Clock(FIRST_DAY, frozen=True)) as running:
        emulator = running.emulator
        emulator.service.ids = SeedIds(invoice_ids, [template.shown["template_id"]])
        http = httpx.Client(timeout=30)

        def token() -> str:
            cred = running.credentials
            return http.post(f"{running.base_url}/v1/oauth2/token",
                             auth=(cred.client_id, cred.client_secret),
                             data={"grant_type": "client_credentials"}).json()["access_token"]

        current = token()

        def call(sample: Sample, data: str | None = None) -> httpx.Response:
            headers = {k: v.replace(TOKEN, current) for k, v in sample.headers.items()}
            body = sample.data if data is None else data
            return http.request(sample.method, sample.url.replace(HOST, running.base_url),
                                headers=headers, content=body.encode() if body else None)

        answers = [call(template), call(create)]
        emulator.set_clock(SHOWN_AT)
        current = token()  # the first one expired with the weeks the clock moved
        # the invoice the show sample displays: the create sample's invoice, from the template
        from_template = json.dumps({**json.loads(create.data or "{}"),
                                    "template_id": template.shown["template_id"]})
        assert call(create, from_template).status_code == 201
        assert call(create).status_code == 201  # the draft the send sample sends
        answers += [call(send), call(show)]
        try:
            yield Run(found, answers, running.base_url, running)
        finally:
            http.close()
    emulator.close()


def _path_id(url: str) -> str:
    return re.search(r"/invoices/(INV2-[A-Z0-9-]+)", url).group(1)


def same_shape(shown: Any, got: Any, base_url: str, path: str = "") -> list[str]:
    """Where ``got`` differs from the document's ``shown``: a missing key, another value, a
    missing link. ``got`` may carry more (fields and links the document leaves out)."""
    if isinstance(shown, dict):
        if not isinstance(got, dict):
            return [f"{path}: {got!r} is not an object"]
        return [problem for key, value in shown.items()
                for problem in (same_shape(value, got[key], base_url, f"{path}.{key}")
                                if key in got else [f"{path}.{key}: missing"])]
    if path.endswith(".links"):
        have = {(link["rel"], link["method"], urlsplit(link["href"]).path) for link in got}
        hosts = {link["href"][:len(base_url)] for link in got}
        return [f"{path}: no {rel} {method} {where}" for rel, method, where in
                {(link["rel"], link["method"], urlsplit(link["href"]).path) for link in shown}
                - have] + ([f"{path}: hosts {hosts}"] if hosts != {base_url} else [])
    if isinstance(shown, list):
        if not isinstance(got, list) or len(got) != len(shown):
            return [f"{path}: {got!r} is not {len(shown)} entries"]
        return [p for i, (s, g) in enumerate(zip(shown, got, strict=True))
                for p in same_shape(s, g, base_url, f"{path}[{i}]")]
    return [] if shown == got else [f"{path}: {got!r}, the document shows {shown!r}"]


def test_the_seed_has_four_curl_samples_and_all_were_sent(run: Run) -> None:
    assert [(s.method, urlsplit(s.url).path) for s in run.samples] == [
        ("POST", "/v1/invoicing/templates/"), ("POST", "/v1/invoicing/invoices/"),
        ("POST", "/v1/invoicing/invoices/INV2-EHNV-LJ5S-A7DZ-V6NJ/send"),
        ("GET", "/v1/invoicing/invoices/INV2-RF6D-L66T-D7H2-CRU7")]
    assert len(run.answers) == len(run.samples)
    for sample, answer in zip(run.samples, run.answers, strict=True):
        assert 200 <= answer.status_code < 300, (sample.url, answer.text)
        if sample.status is not None:
            assert answer.status_code == sample.status, sample.url


def test_create_template_answers_as_the_document_shows(run: Run) -> None:
    sample, answer = run.samples[0], run.answers[0]
    assert answer.json()["template_id"] == "TEMP-XYZ"
    assert same_shape(sample.shown, answer.json(), run.base_url) == []


def test_create_invoice_answers_as_the_document_shows(run: Run) -> None:
    sample, answer = run.samples[1], run.answers[1]
    got, sent = answer.json(), json.loads(sample.data or "{}")
    assert answer.status_code == 201
    # where the document's response contradicts its own request, the request is echoed
    shown = json.loads(json.dumps(sample.shown))
    assert (shown["number"], shown["billing_info"][0]["email"],
            shown["merchant_info"]["phone"]["national_number"]) == (
        "ABCD4971", "email@example.com", "5032141234")
    assert got["billing_info"][0]["email"] == sent["billing_info"][0]["email"]
    assert got["merchant_info"]["phone"]["national_number"] == sent["merchant_info"]["phone"][
        "national_number"]
    assert re.fullmatch(r"\d{4}", got["number"])
    del shown["number"], shown["billing_info"][0]["email"]
    del shown["merchant_info"]["phone"]["national_number"]
    assert same_shape(shown, got, run.base_url) == []
    assert (got["status"], got["total_amount"], got["invoice_date"],
            got["payment_term"]["due_date"]) == (
        "DRAFT", {"currency": "USD", "value": "500.00"}, "2014-02-27 PST", "2014-04-13 PDT")


def test_send_is_accepted_and_the_invoice_goes_out(run: Run) -> None:
    answer = run.answers[2]
    assert answer.status_code == 202 and answer.content == b""
    invoice_id = "INV2-EHNV-LJ5S-A7DZ-V6NJ"
    emulator = run.running.emulator
    assert emulator.invoice(invoice_id)["status"] == "SENT"
    mails = {(m["role"], m["email"]) for m in emulator.outbox(invoice_id=invoice_id)}
    # notify_merchant defaults to true: the merchant gets a copy
    assert mails == {("recipient", "example@example.com"),
                     ("invoicer", emulator.merchant().email)}


def test_show_invoice_answers_as_the_document_shows(run: Run) -> None:
    sample, answer = run.samples[3], run.answers[3]
    assert answer.status_code == 200
    got = answer.json()
    assert same_shape(sample.shown, got, run.base_url) == []
    assert {link["rel"] for link in got["links"]} >= {"send", "delete", "update"}
