"""Shared fixtures: real emulators on loopback, and merchant-scoped API helpers.

``PPNB_SUITE_DAY=YYYY-MM-DD`` (``make test-at DAY=…``) runs the whole suite as of that day:
before anything else, this process's wall clock moves to 10:00 UTC on it (time-machine, so
sleeps, lock timeouts and the monotonic clock are untouched), and ``tests/suite_day`` goes on
``PYTHONPATH`` with the same offset, so every Python process a test starts moves with it.
"""

from __future__ import annotations

import datetime as dt
import os
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from helpers import Api, new_merchant

from ppnb.emulator import Clock, RunningEmulator, start

SHARED = Path(__file__).resolve().parents[1].parent / "shared"


def _suite_day() -> None:
    """Move every clock of the run to ``$PPNB_SUITE_DAY`` (see the module notes)."""
    day = os.environ.get("PPNB_SUITE_DAY")
    if not day or "PPNB_CLOCK_OFFSET" in os.environ:
        return
    import time_machine

    target = dt.datetime.combine(dt.date.fromisoformat(day), dt.time(10), dt.UTC)
    offset = target.timestamp() - time.time()
    os.environ["PPNB_CLOCK_OFFSET"] = repr(offset)
    children = str(Path(__file__).parent / "suite_day")
    os.environ["PYTHONPATH"] = os.pathsep.join(
        [children, *filter(None, [os.environ.get("PYTHONPATH")])])
    time_machine.travel(target, tick=True).start()


_suite_day()


@pytest.fixture(scope="session")
def server() -> Iterator[RunningEmulator]:
    """One emulator for the session; tests isolate themselves by using their own merchant."""
    with start() as running:
        yield running


@pytest.fixture
def merchants(server: RunningEmulator) -> Iterator[Callable[[], Api]]:
    """Make fresh merchants on the shared emulator, as many as a test needs."""
    made: list[Api] = []

    def make() -> Api:
        made.append(Api(server.base_url, *new_merchant(server.emulator)))
        return made[-1]

    yield make
    for client in made:
        client.http.close()


@pytest.fixture
def api(merchants: Callable[[], Api]) -> Api:
    """A fresh merchant on the shared emulator."""
    return merchants()


@pytest.fixture(scope="module")
def frozen() -> Iterator[RunningEmulator]:
    """A private emulator for one test module, its clock frozen at 2025-01-15 09:00 UTC (for
    per-day rules such as reminders, and emulator-wide settings such as faults)."""
    with start(clock=Clock(dt.datetime(2025, 1, 15, 9, 0, tzinfo=dt.UTC), frozen=True)) as served:
        yield served
    served.emulator.close()


@pytest.fixture
def timed() -> Iterator[tuple[RunningEmulator, Api]]:
    """A private emulator with a frozen clock at 2025-01-15 09:00 UTC, for time-based rules."""
    clock = Clock(dt.datetime(2025, 1, 15, 9, 0, tzinfo=dt.UTC), frozen=True)
    with start(clock=clock) as running:
        client = Api(running.base_url, *new_merchant(running.emulator))
        yield running, client
        client.http.close()
