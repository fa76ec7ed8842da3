"""Issue 15, defect 2: the emulator's control plane is closed to other web pages and merchants;
issue 17, item 3: :class:`ppnb.emulator.Control`, the typed client of ``/_emulator/``.

The attacks, replayed over loopback HTTP against a real emulator:

* a cross-origin ``text/plain`` POST (what any web page can make a browser send) wiping every
  book through ``/_emulator/reset``, and every other control call made without credentials;
* a foreign ``Host`` header (DNS rebinding: a name the attacker controls, pointed at
  127.0.0.1), on PayPal's API as much as on ``/_emulator/``;
* one merchant reading another's emails, effect counts and webhook deliveries (their
  webhook ids, receiver URLs and invoice ids) from the outbox, stats and deliveries;
* snapshots without end (30 calls wrote 98 MB);
* ``ppnb emulator serve --host`` on a public address, which only warned.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import io
import os
import re
import stat
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from helpers import Api, control_headers, new_merchant, refused, reserve, wait_for

from ppnb.cli import main
from ppnb.emulator import Clock, Control, ControlError, RunningEmulator, start
from ppnb.emulator._snapshots import MAX_SNAPSHOTS

START = dt.datetime(2025, 1, 15, 9, tzinfo=dt.UTC)
#: Every control route, with a body it would accept.
CONTROL_CALLS: list[tuple[str, str, Any]] = [
    ("POST", "/clock", {"advance_days": 1}),
    ("POST", "/invoices/INV2-AAAA-AAAA-AAAA-AAAA/pay", {}),
    ("POST", "/reset", {}),
    ("GET", "/snapshots", None),
    ("POST", "/snapshots/mine", {}),
    ("DELETE", "/snapshots/mine", {}),
    ("POST", "/snapshots/mine/restore", {}),
    ("GET", "/faults", None),
    ("POST", "/faults", {"rate": 1}),
    ("DELETE", "/faults", {}),
    ("GET", "/settings", None),
    ("POST", "/settings", {"summaries": True}),
]
VIEWS = ["/outbox", "/stats", "/webhooks/deliveries"]


@pytest.fixture
def running() -> Iterator[RunningEmulator]:
    with start(clock=Clock(START, frozen=True)) as served:
        yield served
    served.emulator.close()


@pytest.fixture
def merchant(running: RunningEmulator) -> Iterator[Api]:
    api = Api(running.base_url, *new_merchant(running.emulator))
    yield api
    api.http.close()


def state(running: RunningEmulator, api: Api) -> tuple[Any, ...]:
    """What a control call would change: the book, the clock, faults, settings, snapshots."""
    emulator = running.emulator
    return (api.count(), emulator.now(), emulator.faults.settings()["rate"],
            emulator.service.summaries, emulator.store.snapshots())


def test_a_cross_origin_text_plain_post_cannot_wipe_the_books(running: RunningEmulator,
                                                              merchant: Api) -> None:
    merchant.sent()
    before = state(running, merchant)
    page = {"Origin": "http://evil.example", "Content-Type": "text/plain"}
    answer = httpx.post(running.base_url + "/_emulator/reset", content=b"{}", headers=page)
    assert answer.status_code == 401
    assert answer.json()["name"] == "AUTHENTICATION_FAILURE"
    assert "access-control-allow-origin" not in answer.headers
    # Even with the token, text/plain is not JSON: a form or a no-preflight fetch is refused.
    token = {"Authorization": f"Bearer {running.emulator.control_token}"}
    answer = httpx.post(running.base_url + "/_emulator/reset", content=b"{}",
                        headers={**page, **token})
    assert answer.status_code == 415
    assert answer.json()["details"][0]["field"] == "Content-Type"
    assert state(running, merchant) == before


@pytest.mark.parametrize(("method", "path", "body"), CONTROL_CALLS)
def test_every_control_call_needs_the_control_token(running: RunningEmulator, merchant: Api,
                                                    method: str, path: str, body: Any) -> None:
    merchant.sent()
    before = state(running, merchant)
    url = running.base_url + "/_emulator" + path
    json_ = {"Content-Type": "application/json"}
    for headers, status in [
        (json_, 401),  # no credentials
        ({**json_, "Authorization": "Bearer not-a-token"}, 401),
        ({**json_, "Authorization": f"Basic {running.emulator.control_token}"}, 401),
        ({**json_, "Authorization": f"Bearer {merchant.token}"}, 403),  # a merchant's token
    ]:
        answer = httpx.request(method, url, json=body, headers=headers)
        assert answer.status_code == status, (headers, answer.text)
        error = answer.json()
        assert error["debug_id"] and error["links"] and error["details"][0]["field"] == (
            "Authorization")
    assert state(running, merchant) == before


def test_reading_the_clock_needs_nothing(running: RunningEmulator) -> None:
    answer = httpx.get(running.base_url + "/_emulator/clock")
    assert answer.status_code == 200 and answer.json()["today"] == "2025-01-15"


@pytest.mark.parametrize("host", ["evil.example:{port}", "evil.example", "127.0.0.1:1",
                                  "localhost.evil.example:{port}", "127.0.0.1.nip.io:{port}",
                                  ""])
def test_a_foreign_host_is_refused_on_every_route(running: RunningEmulator, merchant: Api,
                                                  host: str) -> None:
    """DNS rebinding: the browser sends the attacker's name as Host."""
    before = merchant.count()
    wrong = {"Host": host.format(port=running.port)}
    bearer = {"Authorization": f"Bearer {merchant.token}"}
    calls = [
        ("POST", "/v2/invoicing/invoices", {**bearer, "Content-Type": "application/json"}),
        ("GET", "/v2/invoicing/invoices", bearer),
        ("POST", "/v1/oauth2/token", {}),
        ("GET", "/_emulator/clock", {}),
        ("POST", "/_emulator/reset", control_headers(running)),
        ("GET", "/invoice/p/INV2-AAAA-AAAA-AAAA-AAAA", {}),
        ("GET", "/v1/notifications/certs/CERT-1", {}),
    ]
    for method, path, headers in calls:
        answer = httpx.request(method, running.base_url + path, content=b"{}",
                               headers={**headers, **wrong})
        assert answer.status_code == 421, (path, answer.text)
        error = answer.json()
        assert error["name"] == "MISDIRECTED_REQUEST" and error["debug_id"]
        assert error["details"][0]["field"] == "Host" and error["links"]
    assert merchant.count() == before


@pytest.mark.parametrize("name", ["127.0.0.1", "localhost", "LOCALHOST", "[::1]"])
def test_the_served_address_by_any_loopback_name_is_answered(running: RunningEmulator,
                                                            name: str) -> None:
    answer = httpx.get(running.base_url + "/_emulator/clock",
                       headers={"Host": f"{name}:{running.port}"})
    assert answer.status_code == 200, answer.text


def book(running: RunningEmulator, api: Api, hook: str) -> dict[str, str]:
    """A merchant with a webhook, a sent invoice and a reminder; returns their ids."""
    webhook = api.post("/v1/notifications/webhooks", {
        "url": hook, "event_types": [{"name": "*"}]}).json()
    invoice = api.sent()
    assert api.post(f"/v2/invoicing/invoices/{invoice['id']}/remind", {}).status_code == 204
    return {"webhook": webhook["id"], "invoice": invoice["id"]}


def test_each_merchant_sees_only_its_own_outbox_stats_and_deliveries(
        running: RunningEmulator) -> None:
    receiver = reserve()  # a receiver that refuses connections: deliveries stay pending
    hook = f"http://127.0.0.1:{receiver.getsockname()[1]}/hook"
    alice = Api(running.base_url, *new_merchant(running.emulator))
    mallory = Api(running.base_url, *new_merchant(running.emulator))
    hers, his = book(running, alice, hook), book(running, mallory, hook)
    with running.control() as everyone:
        wait_for(lambda: len(everyone.deliveries()) >= 4, "the deliveries")
        assert {e["invoice_id"] for e in everyone.outbox()} == {hers["invoice"],
                                                                his["invoice"]}
        assert everyone.stats()["operations"]["reminded"] == 2
    for api, own, other in [(alice, hers, his), (mallory, his, hers)]:
        with Control(running.base_url, api.token) as view:
            emails = view.outbox()
            assert emails and {e["invoice_id"] for e in emails} == {own["invoice"]}
            assert view.outbox(invoice_id=other["invoice"]) == []
            counts = view.stats(other["invoice"])
            assert counts["operations"] == {"created": 1, "reminded": 1, "sent": 1}
            assert counts["invoice"] == {}
            sent = view.deliveries()
            assert sent and {d["webhook_id"] for d in sent} == {own["webhook"]}
            assert other["webhook"] not in str(sent) and other["invoice"] not in str(sent)
            # Its token reads; it cannot act.
            assert refused(view.reset, 403)["details"][0]["issue"] == "CONTROL_TOKEN_REQUIRED"
            assert refused(lambda paid=own["invoice"]: view.pay(paid), 403)
    alice.http.close()
    mallory.http.close()
    receiver.close()


def test_snapshots_are_bounded_in_number(tmp_path: Path) -> None:
    """The attack: 30 snapshot calls. Past :data:`MAX_SNAPSHOTS`, 409 and nothing written."""
    with start(tmp_path / "book.sqlite") as running, running.control() as control:
        for number in range(30):
            name = f"s{number:02d}"
            if number < MAX_SNAPSHOTS:
                assert control.snapshot(name) == {"saved": name}
            else:
                body = refused(lambda name=name: control.snapshot(name), 409)
                assert body["details"][0]["issue"] == "TOO_MANY_SNAPSHOTS"
        folder = tmp_path / "book.sqlite.snapshots"
        assert len(list(folder.iterdir())) == MAX_SNAPSHOTS == len(control.snapshots())
        assert control.snapshot("s00") == {"saved": "s00"}  # saving over one is fine
        assert control.delete_snapshot("s00") == {"deleted": "s00"}
        assert control.snapshot("fresh") == {"saved": "fresh"}
        assert refused(lambda: control.delete_snapshot("s00"), 404)
    running.emulator.close()


@pytest.mark.parametrize("on_disk", [True, False], ids=["file", "memory"])
def test_snapshots_are_bounded_in_size(tmp_path: Path, on_disk: bool) -> None:
    with start(tmp_path / "book.sqlite" if on_disk else ":memory:") as running:
        store = running.emulator.store
        with running.control() as control:
            assert control.snapshot("first") == {"saved": "first"}
            store.max_snapshot_bytes = 3 * store._snapshot_sizes()["first"] // 2
            body = refused(lambda: control.snapshot("second"), 409)
            assert body["details"][0]["issue"] == "SNAPSHOTS_TOO_LARGE"
            assert control.snapshots() == ["first"]
            assert control.snapshot("first") == {"saved": "first"}  # replacing it fits
    running.emulator.close()


def test_serve_refuses_a_public_host(capsys: pytest.CaptureFixture[str],
                                     tmp_path: Path) -> None:
    code = main(["emulator", "serve", "--host", "0.0.0.0", "--port", "0", "--db", ":memory:",
                 "--env-file", str(tmp_path / "env")])
    err = capsys.readouterr().err
    assert code != 0
    assert err.count("\n") == 1 and "--insecure-public" in err and "0.0.0.0" in err
    assert not (tmp_path / "env").exists()


def test_serve_prints_the_token_masked_and_writes_it_0600(tmp_path: Path,
                                                         monkeypatch: pytest.MonkeyPatch
                                                         ) -> None:
    for name in ("PPNB_CONTROL_TOKEN", "PPNB_BASE_URL"):
        monkeypatch.delenv(name, raising=False)
    env_file = tmp_path / "emulator.env"
    env_file.write_text("stale\n")
    env_file.chmod(0o644)
    process = subprocess.Popen(
        [sys.executable, "-m", "ppnb.cli", "emulator", "serve", "--port", "0", "--db",
         ":memory:", "--env-file", str(env_file)], stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT)
    try:
        assert process.stdout is not None
        banner, deadline = b"", time.monotonic() + 60
        while b"set -a" not in banner and time.monotonic() < deadline:
            banner += process.stdout.readline()
        assert stat.S_IMODE(env_file.stat().st_mode) == 0o600
        with Control.from_env_file(env_file, timeout=30) as control:
            token = env_file.read_text().split("PPNB_CONTROL_TOKEN=")[1].strip()
            assert len(token) >= 40
            assert token.encode() not in banner
            assert f"control token (/_emulator/): ****{token[-4:]}".encode() in banner
            assert control.reset() == {"reset": True}
            assert token not in repr(control)
        out = io.StringIO()
        with contextlib.redirect_stdout(out):  # the CLI verb finds it in the env file
            assert main(["emulator", "stats", "--env-file", str(env_file)]) == 0
        assert '"operations": {}' in out.getvalue()
        url = re.search(rb"emulator at (\S+)", banner).group(1).decode()  # type: ignore[union-attr]
        elsewhere = ["--url", url, "--env-file", str(tmp_path / "absent.env")]
        out, err = io.StringIO(), io.StringIO()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            assert main(["emulator", "clock", *elsewhere]) == 0  # reading is open
            assert main(["emulator", "clock", "--advance-days", "1", *elsewhere]) == 1
        assert '"frozen": false' in out.getvalue()
        assert f"no control token for the emulator at {url}" in err.getvalue()
    finally:
        process.terminate()
        process.wait(30)


def test_control_needs_only_httpx(tmp_path: Path) -> None:
    code = ("import sys; from ppnb.emulator import Control, ControlError; "
            "print(sorted(m for m in ('starlette', 'uvicorn', 'ppnb.emulator._server') "
            "if m in sys.modules))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=120, check=True)
    assert done.stdout.strip() == "[]"


def test_for_url_sends_a_token_only_to_its_own_url(running: RunningEmulator,
                                                   monkeypatch: pytest.MonkeyPatch,
                                                   tmp_path: Path) -> None:
    with Control.for_url(running.base_url) as served_here:  # this process serves it
        assert served_here.advance(1)["today"] == "2025-01-16"
    other = "http://127.0.0.1:1"
    with pytest.raises(ControlError, match="no control token for the emulator at "):
        Control.for_url(other)
    monkeypatch.setenv("PPNB_CONTROL_TOKEN", running.emulator.control_token)
    monkeypatch.setenv("PPNB_BASE_URL", running.base_url)
    with pytest.raises(ControlError):  # the variable names another emulator
        Control.for_url(other)
    env_file = tmp_path / "env"
    env_file.write_text(f"PPNB_BASE_URL={other}\nPPNB_CONTROL_TOKEN=abc\n")
    with Control.for_url(other, env_file=env_file) as from_file:
        assert "abc" not in repr(from_file)
        with pytest.raises(ControlError, match="cannot reach"):
            from_file.clock()


def test_an_embedded_emulator_publishes_its_token_0600(tmp_path: Path) -> None:
    from ppnb.connection import embedded_emulator

    db = tmp_path / "book.sqlite"
    serving = db.with_name("book.sqlite.serving.json")
    serving.write_text("{}")
    serving.chmod(0o644)  # left by an earlier run with a wider mode
    base_url, _, _ = embedded_emulator(db, seed="none", today="2025-01-15")
    assert stat.S_IMODE(serving.stat().st_mode) == 0o600
    with Control.from_serving(db) as control, Control.for_url(base_url) as same:
        assert control.clock()["today"] == same.clock()["today"] == "2025-01-15"
        assert control.snapshots() == []
    assert re.fullmatch(r"http://127\.0\.0\.1:\d+", base_url)
    assert os.environ.get("PPNB_CONTROL_TOKEN") is None
