"""The emulator in parts a newcomer can find (issue 17): small modules, one owner per operation.

The behaviour of every operation is tested over HTTP elsewhere (``test_rules``,
``test_search_consistency``, ``test_v1_*``, the proofs); these tests keep the shape: no
module of the emulator grows past about 400 lines, and every operation of
:class:`ppnb.emulator.Invoicing` is its part's method, so the facade holds no second copy of
any rule.
"""

from __future__ import annotations

import inspect
from pathlib import Path

import pytest

import ppnb.emulator
from ppnb.emulator import Emulator

EMULATOR = Path(ppnb.emulator.__file__).parent
MAX_LINES = 400
#: What the facade defines itself: its properties and the two calls that span every part.
OWN = {"ids", "summaries", "token_ttl", "reset", "forget"}


@pytest.mark.parametrize("path", sorted(EMULATOR.rglob("*.py")),
                         ids=lambda p: str(p.relative_to(EMULATOR)))
def test_every_emulator_module_is_under_400_lines(path: Path) -> None:
    lines = len(path.read_text(encoding="utf-8").splitlines())
    assert lines <= MAX_LINES, f"{path.relative_to(EMULATOR)} has {lines} lines"


def test_every_operation_of_the_facade_is_a_parts_method_of_the_same_name() -> None:
    emulator = Emulator()
    service = emulator.service
    parts = [service.auth, service.templates, service.invoices, service.payments,
             service.searcher, service.mailer, service.effects, service.scheduler]
    operations = {name: value for name, value in vars(service).items() if callable(value)}
    assert {"create_invoice", "search", "record_refund", "issue_token", "outbox", "stats",
            "fire_scheduled", "list_templates"} <= set(operations)
    for name, method in operations.items():
        assert inspect.ismethod(method) and method.__self__ in parts, name
        assert method.__func__ is getattr(type(method.__self__), name), name
    own = {name for name, value in vars(type(service)).items()
           if not name.startswith("_") and (callable(value) or isinstance(value, property))}
    assert own == OWN
    emulator.close()
