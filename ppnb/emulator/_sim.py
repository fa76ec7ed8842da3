"""The simulation endpoints under ``/_emulator/``: not PayPal's, only the emulator's.

They let a test, a benchmark or a notebook move time, play the customer, read the emails
PayPal would have sent, count applied effects, roll the book back, and break the network on
purpose. None is faulted, and none exists when the emulator runs with ``simulation=False``.
:class:`~._control.Control` calls them, typed.

Who may call what (``Authorization: Bearer <token>``):

* ``GET /_emulator/clock`` needs nothing: the time holds no merchant's data, and
  ``ppnb.Client.today()`` reads it with no credentials.
* The outbox, the stats and the webhook deliveries (``view`` below) take the emulator's
  control token, which sees every merchant, or a merchant's own OAuth token (from
  ``/v1/oauth2/token``), which sees only that merchant's rows.
* Everything else (``control``) takes the control token only: a merchant's token gets 403.
* A ``POST`` or ``DELETE`` must also say ``Content-Type: application/json`` (415 otherwise),
  so that no HTML form or ``text/plain`` cross-origin request can make one.

======================================  =======  =======  ======================================
path                                    method   who      does
======================================  =======  =======  ======================================
``/_emulator/clock``                    GET      anyone   ``{"now", "today", "frozen"}``
``/_emulator/clock``                    POST     control  ``{"set": ISO}`` or
                                                          ``{"advance_days": N}``; fires
                                                          scheduled sends that fall due; never
                                                          backwards, never past 2099
``/_emulator/invoices/{id}/pay``        POST     control  the customer pays (``{"amount",
                                                          "date"}`` optional): a ``PAYPAL``
                                                          payment
``/_emulator/outbox``                   GET      view     emails, filtered by ``invoice_id``
                                                          and ``kind``
``/_emulator/stats``                    GET      view     applied effects per operation (and
                                                          ``?invoice_id=``)
``/_emulator/webhooks/deliveries``      GET      view     webhook deliveries and every attempt,
                                                          filtered by ``event_id``, ``status``
``/_emulator/reset``                    POST     control  empty every book
``/_emulator/snapshots``                GET      control  saved snapshot names
``/_emulator/snapshots/{name}``         POST,    control  save the whole state as ``name``
                                        DELETE            (409 past the count or size bound);
                                                          delete it
``/_emulator/snapshots/{name}/restore`` POST     control  put it back
``/_emulator/faults``                   GET,     control  the fault settings; set them; clear
                                        POST,             them
                                        DELETE
``/_emulator/settings``                 GET,     control  ``{"summaries": "off"|"on"|"always"}``:
                                        POST              how list and search items look (see
                                                          :class:`~._server.Emulator`); POST
                                                          takes ``true``, ``false`` or a name
======================================  =======  =======  ======================================
"""

from __future__ import annotations

import datetime as dt
import hmac
from collections.abc import Awaitable, Callable
from typing import Any, Literal, Protocol

import orjson
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from ._book import Merchant
from ._clock import Clock, ClockError, isoformat
from ._errors import ApiError, error
from ._faults import Faults
from ._service import Invoicing
from ._snapshots import SnapshotLimit
from ._store import Store

#: Who may call a route: anyone, the control token or a merchant (its own rows), or the
#: control token only.
Access = Literal["open", "view", "control"]
#: A route's work: the request, its JSON body, and whose rows to show (None: everyone's).
Handler = Callable[[Request, Any, "Merchant | None"], Any]
JSON = "application/json"


class Emulator(Protocol):
    """What the routes use of :class:`~._server.Emulator` (named here, so that this module
    does not import the one that imports it)."""

    clock: Clock
    service: Invoicing
    store: Store
    faults: Faults

    @property
    def control_token(self) -> str: ...

    def set_clock(self, when: dt.datetime) -> list[str]: ...

    def advance(self, days: float) -> list[str]: ...

    def deliveries(self, event_id: str | None = None, status: str | None = None, *,
                   merchant: str | None = None) -> list[dict[str, Any]]: ...

    def reset(self) -> None: ...

    def save_snapshot(self, name: str) -> None: ...

    def restore_snapshot(self, name: str) -> None: ...

    def set_summaries(self, mode: bool | str) -> str: ...


def _json(value: Any, status: int = 200) -> Response:
    return Response(orjson.dumps(value), status, media_type=JSON)


def _caller(emulator: Emulator, request: Request, access: Access) -> Merchant | None:
    """Whose rows the caller may see: None for the control token (everyone's) or an open
    route, the merchant for a merchant's token on a ``view`` route; 401/403 otherwise."""
    if access == "open":
        return None
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    token = token.strip() if scheme.lower() == "bearer" else ""
    if token and hmac.compare_digest(token.encode(), emulator.control_token.encode()):
        return None
    if not token:
        raise error(401, "MISSING_AUTHORIZATION",
                    "Send the emulator's control token as 'Authorization: Bearer <token>' "
                    "(PPNB_CONTROL_TOKEN in the env file 'ppnb emulator serve' writes).",
                    "Authorization", location="header")
    merchant = emulator.service.authenticate(token)  # 401 unless a merchant's live token
    if access == "control":
        raise error(403, "CONTROL_TOKEN_REQUIRED",
                    "This call needs the emulator's control token; a merchant's token may "
                    "only read its own outbox, stats and webhook deliveries.",
                    "Authorization", location="header")
    return merchant


def _endpoint(emulator: Emulator, handler: Handler, access: Access
              ) -> Callable[[Request], Awaitable[Response]]:
    """Check the caller and the content type, parse the JSON body (if any), run
    ``handler``, and answer errors PayPal-style."""

    async def run(request: Request) -> Response:
        try:
            viewer = _caller(emulator, request, access if request.method == "GET" else
                             "control")
            if request.method != "GET":
                ctype = request.headers.get("content-type", "").split(";")[0].strip().lower()
                if ctype != JSON:
                    raise error(415, "UNSUPPORTED_MEDIA_TYPE",
                                f"Send {request.method} calls as {JSON}, not "
                                f"{ctype or 'no Content-Type'}.", "Content-Type",
                                ctype or None, "header")
            raw = await request.body()
            try:
                body = orjson.loads(raw) if raw.strip() else {}
            except orjson.JSONDecodeError as exc:
                raise error(400, "MALFORMED_REQUEST_JSON",
                            f"The request body is not valid JSON: {exc}.", "/") from None
            if not isinstance(body, dict):
                raise error(400, "INVALID_REQUEST", "Send a JSON object.", "/")
            return _json(handler(request, body, viewer))
        except ApiError as exc:
            return Response(orjson.dumps(exc.as_json(emulator.service.ids.debug_id())),
                            exc.status, media_type=JSON, headers=exc.headers)

    return run


def _bad(field: str, value: Any, message: str) -> ApiError:
    return error(400, "INVALID_PARAMETER_VALUE", message, f"/{field}", value)


def clock_state(emulator: Emulator) -> dict[str, Any]:
    """The emulator's time as JSON."""
    clock = emulator.clock
    return {"now": isoformat(clock.now()), "today": clock.today().isoformat(),
            "frozen": clock.frozen}


def move_clock(emulator: Emulator, body: dict[str, Any]) -> dict[str, Any]:
    """Apply ``{"set": ISO}`` or ``{"advance_days": N}``; returns the time and what fired."""
    if set(body) not in ({"set"}, {"advance_days"}):
        raise _bad("", sorted(body), 'Send exactly one of "set" (an ISO date-time) or '
                   '"advance_days" (a number of days).')
    key = next(iter(body))
    try:
        if key == "set":
            fired = emulator.set_clock(_instant(body["set"]))
        else:
            fired = emulator.advance(body["advance_days"])
    except ClockError as exc:  # backwards, out of range, or not a finite number of days
        raise _bad(key, body[key], f"{key}: {exc}.") from None
    return {**clock_state(emulator), "fired": fired}


def _instant(value: Any) -> dt.datetime:
    """An ISO 8601 date-time (UTC when it names no zone), or a 400 naming ``set``."""
    try:
        when = dt.datetime.fromisoformat(value) if isinstance(value, str) else None
    except ValueError as exc:
        raise _bad("set", value, f"set: {exc}.") from None
    if when is None:
        raise _bad("set", value, "set: give an ISO 8601 date-time, e.g. 2025-03-01T09:00:00Z.")
    return when if when.tzinfo else when.replace(tzinfo=dt.UTC)


def sim_routes(emulator: Emulator) -> list[Route]:
    """The ``/_emulator/`` routes over ``emulator``."""
    service = emulator.service
    Body = dict[str, Any]

    def whose(viewer: Merchant | None) -> str | None:
        return viewer.payer_id if viewer is not None else None

    def clock(request: Request, body: Body, viewer: Merchant | None) -> Body:
        return clock_state(emulator) if request.method == "GET" else move_clock(emulator, body)

    def pay(request: Request, body: Body, viewer: Merchant | None) -> Body:
        unknown = set(body) - {"amount", "date"}
        if unknown:
            raise _bad(sorted(unknown)[0], None, 'Only "amount" and "date" may be given.')
        for key in ("amount", "date"):
            if key in body and not isinstance(body[key], str):
                raise _bad(key, body[key], f"{key}: give a string, e.g. \"10.00\" or "
                           "\"2025-01-31\".")
        return service.pay_as_customer(request.path_params["invoice_id"], body.get("amount"),
                                       body.get("date"))

    def outbox(request: Request, body: Body, viewer: Merchant | None) -> Body:
        q = request.query_params
        return {"emails": service.outbox(invoice_id=q.get("invoice_id"), kind=q.get("kind"),
                                         merchant=whose(viewer))}

    def stats(request: Request, body: Body, viewer: Merchant | None) -> Body:
        return service.stats(invoice_id=request.query_params.get("invoice_id"),
                             merchant=whose(viewer))

    def deliveries(request: Request, body: Body, viewer: Merchant | None) -> Body:
        q = request.query_params
        return {"deliveries": emulator.deliveries(q.get("event_id"), q.get("status"),
                                                  merchant=whose(viewer))}

    def reset(request: Request, body: Body, viewer: Merchant | None) -> Body:
        emulator.reset()
        return {"reset": True}

    def snapshots(request: Request, body: Body, viewer: Merchant | None) -> Body:
        return {"snapshots": emulator.store.snapshots()}

    def snapshot(request: Request, body: Body, viewer: Merchant | None) -> Body:
        name = request.path_params["name"]
        try:
            if request.method == "DELETE":
                emulator.store.delete_snapshot(name)
                return {"deleted": name}
            emulator.save_snapshot(name)
        except SnapshotLimit as exc:
            raise error(409, "TOO_MANY_SNAPSHOTS" if exc.kind == "count" else
                        "SNAPSHOTS_TOO_LARGE", f"{exc}.", "name", name, "path") from None
        except ValueError as exc:
            raise _bad("name", name, str(exc)) from None
        except KeyError:
            raise _no_snapshot(name) from None
        return {"saved": name}

    def restore(request: Request, body: Body, viewer: Merchant | None) -> Body:
        name = request.path_params["name"]
        try:
            emulator.restore_snapshot(name)
        except ValueError as exc:
            raise _bad("name", name, str(exc)) from None
        except KeyError:
            raise _no_snapshot(name) from None
        return {"restored": name}

    def faults(request: Request, body: Body, viewer: Merchant | None) -> Body:
        if request.method == "DELETE":
            emulator.faults.clear()
        elif request.method == "POST":
            try:
                return emulator.faults.configure_from_json(body)
            except ValueError as exc:
                raise _bad("", body, str(exc)) from None
        return emulator.faults.settings()

    def settings(request: Request, body: Body, viewer: Merchant | None) -> Body:
        if request.method == "POST":
            unknown = set(body) - {"summaries"}
            if unknown:
                raise _bad(sorted(unknown)[0], None, 'Only "summaries" can be set.')
            if "summaries" in body:
                try:
                    emulator.set_summaries(body["summaries"])
                except ValueError as exc:
                    raise _bad("summaries", body["summaries"], str(exc)) from None
        return {"summaries": service.summaries}

    table: list[tuple[str, Handler, list[str], Access]] = [
        ("/_emulator/clock", clock, ["GET", "POST"], "open"),
        ("/_emulator/invoices/{invoice_id}/pay", pay, ["POST"], "control"),
        ("/_emulator/outbox", outbox, ["GET"], "view"),
        ("/_emulator/stats", stats, ["GET"], "view"),
        ("/_emulator/webhooks/deliveries", deliveries, ["GET"], "view"),
        ("/_emulator/reset", reset, ["POST"], "control"),
        ("/_emulator/snapshots", snapshots, ["GET"], "control"),
        ("/_emulator/snapshots/{name}", snapshot, ["POST", "DELETE"], "control"),
        ("/_emulator/snapshots/{name}/restore", restore, ["POST"], "control"),
        ("/_emulator/faults", faults, ["GET", "POST", "DELETE"], "control"),
        ("/_emulator/settings", settings, ["GET", "POST"], "control"),
    ]
    return [Route(path, _endpoint(emulator, handler, access), methods=methods)
            for path, handler, methods, access in table]


def _no_snapshot(name: str) -> ApiError:
    return error(404, "RESOURCE_NOT_FOUND", f"No snapshot named {name!r}.", "name", name,
                 "path")
