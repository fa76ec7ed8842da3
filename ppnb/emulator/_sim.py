"""The simulation endpoints under ``/_emulator/``: not PayPal's, only the emulator's.

They let a test, a benchmark or a notebook move time, play the customer, read the emails
PayPal would have sent, count applied effects, roll the book back, and break the network on
purpose. None needs credentials (the emulator only listens on loopback), none is faulted,
and none exists when the emulator runs with ``simulation=False``.

======================================  =======  =================================================
path                                    method   does
======================================  =======  =================================================
``/_emulator/clock``                    GET      ``{"now", "today", "frozen"}``
``/_emulator/clock``                    POST     ``{"set": ISO}`` or ``{"advance_days": N}``; fires
                                                 scheduled sends that fall due; never backwards
``/_emulator/invoices/{id}/pay``        POST     the customer pays (``{"amount", "date"}``
                                                 optional): a ``PAYPAL`` payment
``/_emulator/outbox``                   GET      emails, filtered by ``invoice_id`` and ``kind``
``/_emulator/stats``                    GET      applied effects per operation (and
                                                 ``?invoice_id=``)
``/_emulator/reset``                    POST     empty every book
``/_emulator/snapshots``                GET      saved snapshot names
``/_emulator/snapshots/{name}``         POST     save the whole state as ``name``
``/_emulator/snapshots/{name}/restore`` POST     put it back
``/_emulator/faults``                   GET,     the fault settings; set them; clear them
                                        POST,
                                        DELETE
``/_emulator/webhooks/deliveries``      GET      webhook deliveries and every attempt, filtered
                                                 by ``event_id`` and ``status``
``/_emulator/settings``                 GET,     ``{"summaries": "off"|"on"|"always"}``: how
                                        POST     list and search items look (see
                                                 :class:`~._server.Emulator`); POST takes
                                                 ``true``, ``false`` or a mode's name
======================================  =======  =================================================
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

import orjson
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from ._clock import ClockError, isoformat
from ._errors import ApiError, error

if TYPE_CHECKING:
    from ._server import Emulator

Handler = Callable[[Request, Any], Any]


def _json(value: Any, status: int = 200) -> Response:
    return Response(orjson.dumps(value), status, media_type="application/json")


def _endpoint(handler: Handler) -> Callable[[Request], Awaitable[Response]]:
    """Parse the JSON body (if any), run ``handler``, and answer errors PayPal-style."""

    async def run(request: Request) -> Response:
        raw = await request.body()
        try:
            try:
                body = orjson.loads(raw) if raw.strip() else {}
            except orjson.JSONDecodeError as exc:
                raise error(400, "MALFORMED_REQUEST_JSON",
                            f"The request body is not valid JSON: {exc}.", "/") from None
            if not isinstance(body, dict):
                raise error(400, "INVALID_REQUEST", "Send a JSON object.", "/")
            return _json(handler(request, body))
        except ApiError as exc:
            return Response(orjson.dumps(exc.as_json("emulator")), exc.status,
                            media_type="application/json", headers=exc.headers)

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
            days = body["advance_days"]
            if isinstance(days, bool) or not isinstance(days, int | float) or days < 0:
                raise _bad("advance_days", days, "advance_days: give a number of days ≥ 0.")
            fired = emulator.advance(days)
    except ClockError as exc:
        raise _bad(key, body[key], str(exc)) from None
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

    def clock(request: Request, body: dict[str, Any]) -> dict[str, Any]:
        return clock_state(emulator) if request.method == "GET" else move_clock(emulator, body)

    def pay(request: Request, body: dict[str, Any]) -> dict[str, Any]:
        unknown = set(body) - {"amount", "date"}
        if unknown:
            raise _bad(sorted(unknown)[0], None, 'Only "amount" and "date" may be given.')
        for key in ("amount", "date"):
            if key in body and not isinstance(body[key], str):
                raise _bad(key, body[key], f"{key}: give a string, e.g. \"10.00\" or "
                           "\"2025-01-31\".")
        return service.pay_as_customer(request.path_params["invoice_id"], body.get("amount"),
                                       body.get("date"))

    def outbox(request: Request, body: dict[str, Any]) -> dict[str, Any]:
        q = request.query_params
        return {"emails": service.outbox(invoice_id=q.get("invoice_id"), kind=q.get("kind"))}

    def stats(request: Request, body: dict[str, Any]) -> dict[str, Any]:
        return service.stats(invoice_id=request.query_params.get("invoice_id"))

    def reset(request: Request, body: dict[str, Any]) -> dict[str, Any]:
        emulator.reset()
        return {"reset": True}

    def snapshots(request: Request, body: dict[str, Any]) -> dict[str, Any]:
        return {"snapshots": emulator.store.snapshots()}

    def save(request: Request, body: dict[str, Any]) -> dict[str, Any]:
        name = request.path_params["name"]
        try:
            emulator.save_snapshot(name)
        except ValueError as exc:
            raise _bad("name", name, str(exc)) from None
        return {"saved": name}

    def restore(request: Request, body: dict[str, Any]) -> dict[str, Any]:
        name = request.path_params["name"]
        try:
            emulator.restore_snapshot(name)
        except ValueError as exc:
            raise _bad("name", name, str(exc)) from None
        except KeyError:
            raise error(404, "RESOURCE_NOT_FOUND", f"No snapshot named {name!r}.",
                        "name", name, "path") from None
        return {"restored": name}

    def faults(request: Request, body: dict[str, Any]) -> dict[str, Any]:
        if request.method == "DELETE":
            emulator.faults.clear()
        elif request.method == "POST":
            try:
                return emulator.faults.configure_from_json(body)
            except ValueError as exc:
                raise _bad("", body, str(exc)) from None
        return emulator.faults.settings()

    def settings(request: Request, body: dict[str, Any]) -> dict[str, Any]:
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

    def deliveries(request: Request, body: dict[str, Any]) -> dict[str, Any]:
        q = request.query_params
        return {"deliveries": emulator.deliveries(q.get("event_id"), q.get("status"))}

    table: list[tuple[str, Handler, list[str]]] = [
        ("/_emulator/clock", clock, ["GET", "POST"]),
        ("/_emulator/invoices/{invoice_id}/pay", pay, ["POST"]),
        ("/_emulator/outbox", outbox, ["GET"]),
        ("/_emulator/stats", stats, ["GET"]),
        ("/_emulator/reset", reset, ["POST"]),
        ("/_emulator/snapshots", snapshots, ["GET"]),
        ("/_emulator/snapshots/{name}", save, ["POST"]),
        ("/_emulator/snapshots/{name}/restore", restore, ["POST"]),
        ("/_emulator/faults", faults, ["GET", "POST", "DELETE"]),
        ("/_emulator/webhooks/deliveries", deliveries, ["GET"]),
        ("/_emulator/settings", settings, ["GET", "POST"]),
    ]
    return [Route(path, _endpoint(handler), methods=methods) for path, handler, methods in table]
