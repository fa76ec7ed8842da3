"""Test helpers: a thin HTTP wrapper that checks every response against PayPal's spec."""

from __future__ import annotations

import copy
import gc
import shutil
import socket
import threading
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import uvicorn
from conformance import validate_response


class Api:
    """A merchant's view of a running emulator, over real loopback HTTP.

    Every response to a ``/v2/`` call is validated against ``invoicing_v2.json`` before the
    test sees it, so each test doubles as a conformance test. Like the ppnb client, every
    call says ``Prefer: return=representation`` (so create and update answer with the whole
    resource) unless ``prefer`` is None or the call passes its own ``Prefer`` header.
    """

    def __init__(self, base_url: str, client_id: str, secret: str, *,
                 prefer: str | None = "return=representation", verify: Any = True) -> None:
        self.base_url = base_url
        self.client_id = client_id
        self.secret = secret
        self.prefer = prefer
        self.http = httpx.Client(base_url=base_url, timeout=30, verify=verify)
        self.token = self.fetch_token()

    def fetch_token(self) -> str:
        response = self.http.post(
            "/v1/oauth2/token",
            auth=(self.client_id, self.secret),
            data={"grant_type": "client_credentials"},
        )
        assert response.status_code == 200, response.text
        return response.json()["access_token"]

    def request(
        self,
        method: str,
        path: str,
        json: Any = None,
        *,
        headers: dict[str, str] | None = None,
        params: dict[str, Any] | None = None,
        content: bytes | None = None,
        auth: bool = True,
    ) -> httpx.Response:
        sent = {"Authorization": f"Bearer {self.token}"} if auth else {}
        if self.prefer:
            sent["Prefer"] = self.prefer
        sent.update(headers or {})
        response = self.http.request(
            method, path, json=json, headers=sent, params=params, content=content
        )
        if path.startswith("/v2/"):
            body = response.json() if response.content and response.headers.get(
                "content-type", "").startswith("application/json") else None
            validate_response(method, path.split("?")[0], response.status_code, body)
        return response

    def get(self, path: str, **kw: Any) -> httpx.Response:
        return self.request("GET", path, **kw)

    def post(self, path: str, json: Any = None, **kw: Any) -> httpx.Response:
        return self.request("POST", path, json, **kw)

    def put(self, path: str, json: Any = None, **kw: Any) -> httpx.Response:
        return self.request("PUT", path, json, **kw)

    def delete(self, path: str, **kw: Any) -> httpx.Response:
        return self.request("DELETE", path, **kw)

    # --- shortcuts used by many tests ---------------------------------------------------------

    def create(self, **overrides: Any) -> dict[str, Any]:
        response = self.post("/v2/invoicing/invoices", invoice_body(**overrides))
        assert response.status_code == 201, response.text
        return response.json()

    def invoice(self, invoice_id: str) -> dict[str, Any]:
        response = self.get(f"/v2/invoicing/invoices/{invoice_id}")
        assert response.status_code == 200, response.text
        return response.json()

    def send(self, invoice_id: str, **notification: Any) -> httpx.Response:
        return self.post(f"/v2/invoicing/invoices/{invoice_id}/send", notification)

    def sent(self, **overrides: Any) -> dict[str, Any]:
        """A created and sent invoice."""
        created = self.create(**overrides)
        response = self.send(created["id"])
        assert response.status_code == 200, response.text
        return self.invoice(created["id"])

    def pay(self, invoice_id: str, value: str | None = None, currency: str = "USD",
            **extra: Any) -> httpx.Response:
        body: dict[str, Any] = {"method": "BANK_TRANSFER", **extra}
        if value is not None:
            body["amount"] = {"currency_code": currency, "value": value}
        return self.post(f"/v2/invoicing/invoices/{invoice_id}/payments", body)

    def count(self) -> int:
        response = self.post("/v2/invoicing/search-invoices", {},
                             params={"total_required": "true", "page_size": 1})
        return response.json()["total_items"]


def invoice_body(
    *,
    currency: str = "USD",
    items: list[dict[str, Any]] | None = None,
    number: str | None = None,
    email: str | None = "customer@example.com",
    invoice_date: str | None = None,
    term: str | None = None,
    **detail: Any,
) -> dict[str, Any]:
    """A valid create-invoice body; keyword arguments go into ``detail``."""
    body: dict[str, Any] = {
        "detail": {"currency_code": currency, **detail},
        "items": copy.deepcopy(items) if items is not None else [
            {"name": "Consulting", "quantity": "2",
             "unit_amount": {"currency_code": currency, "value": "50.00" if currency != "JPY"
                             else "5000"}},
        ],
    }
    if number:
        body["detail"]["invoice_number"] = number
    if invoice_date:
        body["detail"]["invoice_date"] = invoice_date
    if term:
        body["detail"]["payment_term"] = {"term_type": term}
    if email:
        body["primary_recipients"] = [{"billing_info": {
            "email_address": email, "name": {"given_name": "Ada", "surname": "Lovelace"},
            "business_name": "Analytical Engines Ltd"}}]
    return body


def refused(call: Callable[[], Any], status: int) -> dict[str, Any]:
    """The error body (PayPal's shape) of a :class:`ppnb.emulator.Control` call that the
    emulator must refuse with ``status``."""
    import pytest

    from ppnb.emulator import ControlError

    with pytest.raises(ControlError) as caught:
        call()
    assert caught.value.status == status, caught.value
    return caught.value.body


def control_headers(running: Any) -> dict[str, str]:
    """What a raw ``/_emulator/`` call with the control token sends (for tests of the HTTP
    layer itself; everything else goes through :class:`ppnb.emulator.Control`)."""
    return {"Authorization": f"Bearer {running.emulator.control_token}",
            "Content-Type": "application/json"}


def new_merchant(emulator: Any) -> tuple[str, str]:
    """Register a fresh merchant on ``emulator`` and return its credentials."""
    client_id, secret = f"m-{uuid.uuid4().hex[:12]}", uuid.uuid4().hex + uuid.uuid4().hex
    emulator.add_merchant(client_id, secret)
    return client_id, secret


def kernel_env(home: Path) -> dict[str, str]:
    """Environment for Jupyter kernels started by a test: every folder in ``home``, and no
    PayPal settings inherited from the machine (a test sets the ones it means)."""
    env = {name: str(home / folder) for name, folder in {
        "HOME": "", "JUPYTER_CONFIG_DIR": "jupyter/config", "JUPYTER_DATA_DIR": "jupyter/data",
        "JUPYTER_RUNTIME_DIR": "jupyter/runtime", "IPYTHONDIR": "ipython",
        "MPLCONFIGDIR": "mpl"}.items()}
    for folder in env.values():
        Path(folder).mkdir(parents=True, exist_ok=True)
    return env


def run_notebook(name: str, folder: Path, settings: dict[str, str]) -> str:
    """Execute a copy of ``ppnb/notebooks/<name>`` headless in a fresh kernel, in an environment of
    :func:`kernel_env` plus ``settings`` (how to reach PayPal or the emulator; no
    ``PPNB_EMULATOR_DB``, ``PPNB_SEED`` or ``PPNB_TODAY``), and return its outputs' data as
    JSON text. Fails if it showed nothing or any cell failed."""
    import nbformat
    import orjson
    import pytest

    from ppnb.lab import NOTEBOOKS, execute_notebooks

    book = folder / name
    shutil.copy(NOTEBOOKS / name, book)
    with pytest.MonkeyPatch.context() as env:
        for key, value in {**kernel_env(folder / "home"), **settings}.items():
            env.setenv(key, value)
        for key in ("PPNB_EMULATOR_DB", "PPNB_SEED", "PPNB_TODAY"):
            env.delenv(key, raising=False)
        [executed] = execute_notebooks([book], folder / "out")
    # The kernel client is freed with its cycles; collect them now, so that its late "could
    # not destroy zmq context" warning is logged here rather than inside a later test.
    gc.collect()
    cells = nbformat.read(executed, as_version=4).cells
    outputs = [o for cell in cells if cell.cell_type == "code" for o in cell.outputs]
    errors = "\n".join(f"{o.ename}: {o.evalue}" for o in outputs if o.output_type == "error")
    assert outputs and not errors, errors
    return orjson.dumps([o.get("data", {}) for o in outputs]).decode()


def reserve() -> socket.socket:
    """A bound loopback socket that does not listen yet: connections to it are refused."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    return sock


class Served:
    """An ASGI app served by uvicorn on ``sock`` (a fresh loopback one by default) in a
    thread, at :attr:`url`."""

    def __init__(self, app: Any, sock: socket.socket | None = None) -> None:
        sock = sock or reserve()
        self.url = f"http://127.0.0.1:{sock.getsockname()[1]}"
        self.server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="on"))
        self.thread = threading.Thread(target=self.server.run, kwargs={"sockets": [sock]},
                                       daemon=True)
        self.thread.start()
        wait_for(lambda: self.server.started or not self.thread.is_alive(), "the listener")
        assert self.server.started

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)


def shows_money(text: str, minor: int, currency: str) -> bool:
    """Whether notebook output ``text`` shows an amount, as minor units or as money
    (``1,798,871`` JPY, ``17,988.71`` USD), whichever way the notebook displays it."""
    from ppnb.money import from_minor

    return any(form in text for form in (f">{minor}<", f"{from_minor(int(minor), currency):,}"))


def free_port() -> int:
    """A loopback port that was free a moment ago (for a server the test starts)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_for(check: Callable[[], Any], what: str, timeout: float = 30,
             interval: float = 0.02) -> Any:
    """Poll ``check`` until it returns something truthy, within ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out waiting for {what}")
