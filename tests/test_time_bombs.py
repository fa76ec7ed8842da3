"""No time bombs: nothing in the code, the tests or the notebooks depends on the day it runs.

Two repository-wide scans, run by the suite:

* **Wall-clock reads.** ``date.today()``, ``datetime.now()``, ``pd.Timestamp("today")`` and
  their kin are refused everywhere except the few places listed in :data:`WALL_CLOCK`, each
  with its reason. Analysis and reports take an explicit as-of date; the emulator reads its
  own :class:`~ppnb.emulator.Clock`; notebooks ask the book (``client.today()``).
* **Fixed dates the clock will cross.** A date literal in a test or a notebook that lies after
  the project began (:data:`PROJECT_START`) is a day the machine's clock will reach while the
  suite is still run: a test that compares against it passes before that day and fails after.
  Such a date may stand only in a test that sets its own clock (a frozen emulator
  ``Clock``, the ``frozen``/``timed`` fixtures, ``faketime``, ``PPNB_TODAY``/``today=``) or
  passes its own as-of date, so what it checks never depends on the machine's day. Dates
  before the project began were crossed before any run, and are harmless.

The other half of the guarantee is behavioural: ``tests/test_notebooks.py`` runs every
notebook on five set days, and ``make test`` (CI) runs the suite once more as of 15 January
2027 (``make test-at``, ``PPNB_SUITE_DAY``).
"""

from __future__ import annotations

import ast
import datetime as dt
import json
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PROJECT_START = dt.date(2026, 11, 22)  # the first commit; every earlier date is already past
FAR_FUTURE = dt.date(2090, 1, 1)  # from here on, a date stands for "the far future"

#: Where reading the machine's clock is right, and why: ``{path: {function: reason}}``.
WALL_CLOCK = {
    "ppnb/actions/_journal.py": {
        "_now": "when a journal line was written: an audit stamp, no decision"},
    "ppnb/client/_client.py": {"today": "on PayPal the book's today is the UTC date"},
    "ppnb/reports/_report.py": {
        "report": "the report's 'generated at' stamp, beside its as-of date"},
    "ppnb/webhooks/_verify.py": {"utc": "a live signature is fresh against real time (replay "
                                        "window); the receiver's received-at stamp"},
    "tests/test_client.py": {
        "test_today_is_the_emulators_clock_else_the_machines": "checks today() on PayPal is "
        "the machine's UTC date, read on both sides of the call"},
}

#: What makes a test's dates its own: it sets a clock, or passes its own as-of date.
PINS = re.compile(r"\bClock\(|\bclock=|\bfrozen\b|\btimed\b|faketime|FAKETIME|PPNB_TODAY|"
                  r"\btoday=|\bas_of\b|\bset_clock\b|move_clock")

_DATE = re.compile(r"(?<!\d)(\d{4})-(\d{2})-(\d{2})(?!\d)")
_CLASSES = ("date", "datetime", "Timestamp")


def wall_clock_reads(tree: ast.AST) -> Iterator[tuple[int, str, str]]:
    """``(line, enclosing function, call)`` for every read of the machine's clock."""
    for function, node in _calls(tree):
        name = _dotted(node.func)
        owner, _, last = name.rpartition(".")
        if ((last in ("today", "now", "utcnow") and owner.rpartition(".")[2] in _CLASSES)
                or (last in ("localtime", "gmtime", "ctime") and owner == "time"
                and not node.args)):
            yield node.lineno, function, name
        elif last in ("Timestamp", "to_datetime", "datetime64") and node.args and isinstance(
                node.args[0], ast.Constant) and node.args[0].value in ("today", "now"):
            yield node.lineno, function, f"{name}({node.args[0].value!r})"


def _calls(tree: ast.AST) -> Iterator[tuple[str, ast.Call]]:
    def walk(node: ast.AST, function: str) -> Iterator[tuple[str, ast.Call]]:
        for child in ast.iter_child_nodes(node):
            inner = child.name if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef) \
                else function
            if isinstance(child, ast.Call):
                yield function, child
            yield from walk(child, inner)

    yield from walk(tree, "<module>")


def _dotted(node: ast.AST) -> str:
    if isinstance(node, ast.Attribute):
        return f"{_dotted(node.value)}.{node.attr}"
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Call):
        return f"{_dotted(node.func)}()"
    return "?"


def crossing_dates(source: str) -> list[dt.date]:
    """Every valid calendar date in ``source`` that the clock crosses while the suite lives."""
    found = []
    for match in _DATE.finditer(source):
        try:
            day = dt.date(*(int(part) for part in match.groups()))
        except ValueError:
            continue  # "2024-02-30" and the like: deliberately invalid input, not a date
        if PROJECT_START <= day < FAR_FUTURE:
            found.append(day)
    for match in re.finditer(r"\bdate(?:time)?\((\d{4}),\s*(\d{1,2}),\s*(\d{1,2})", source):
        day = dt.date(*(int(part) for part in match.groups()))
        if PROJECT_START <= day < FAR_FUTURE:
            found.append(day)
    return found


def unpinned_dates(path: Path) -> list[tuple[int, str, dt.date]]:
    """``(line, function, date)`` for a crossing date in code that sets no clock of its own.

    A test is judged with its decorators (parametrize tables, Hypothesis strategies) and the
    fixtures it asks for: a fixture that pins a clock pins every test using it. A helper (a
    strategy, a builder) is pinned when everything that names it is; a module-level constant
    is judged by every function that names it.
    """
    source = path.read_text()
    tree = ast.parse(source)
    functions = {f.name: f for f in ast.walk(tree) if isinstance(f, ast.FunctionDef)}
    text = {name: (ast.get_source_segment(source, f) or "") + "".join(
        ast.get_source_segment(source, d) or "" for d in f.decorator_list)
        for name, f in functions.items()}
    users = {name: [other for other in functions if other != name
                    and re.search(rf"\b{name}\b", text[other])] for name in functions}
    pinned = {"frozen", "timed"} | {name for name, f in functions.items()
                                     if PINS.search(text[name])}
    pinned |= {name for name, f in functions.items() if {a.arg for a in f.args.args} & pinned}
    while True:  # helpers named only by pinned code are pinned too
        more = {name for name in functions if name not in pinned and users[name]
                and not name.startswith("test_") and all(u in pinned for u in users[name])}
        if not more:
            break
        pinned |= more
    found = [(functions[name].lineno, name, day) for name in functions if name not in pinned
             for day in crossing_dates(text[name])]
    for statement in tree.body:
        if isinstance(statement, ast.Assign | ast.AnnAssign):
            segment = ast.get_source_segment(source, statement) or ""
            targets = statement.targets if isinstance(statement, ast.Assign) \
                else [statement.target]
            names = [t.id for t in targets if isinstance(t, ast.Name)]
            readers = [f for f in functions for n in names if re.search(rf"\b{n}\b", text[f])]
            found += [(functions[f].lineno, f, day) for day in crossing_dates(segment)
                      for f in readers if f not in pinned]
    return found


def python_files(*folders: str) -> list[Path]:
    return sorted(p for folder in folders for p in (ROOT / folder).rglob("*.py"))


def notebook_code(path: Path) -> str:
    cells = json.loads(path.read_text())["cells"]
    return "\n".join("".join(c["source"]) for c in cells if c["cell_type"] == "code")


NOTEBOOKS = sorted((ROOT / "ppnb" / "notebooks").glob("*.ipynb"))
assert NOTEBOOKS, "no notebooks to scan"


@pytest.mark.parametrize("folder", ["ppnb", "tests", "benchmarks"])
def test_nothing_reads_the_wall_clock_outside_its_listed_places(folder: str) -> None:
    found = []
    for path in python_files(folder):
        relative = path.relative_to(ROOT).as_posix()
        allowed = WALL_CLOCK.get(relative, {})
        found += [f"{relative}:{line} {function}(): {call}"
                  for line, function, call in wall_clock_reads(ast.parse(path.read_text()))
                  if function not in allowed]
    assert found == [], "read the book's or the emulator's clock, or take an as-of date"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebooks_read_no_clock_and_fix_no_date(path: Path) -> None:
    code = notebook_code(path)
    assert list(wall_clock_reads(ast.parse(_without_magics(code)))) == [], \
        "notebooks take their day from the book: client.today()"
    assert crossing_dates(code) == [], "a notebook's dates are derived from as_of, never fixed"


def _without_magics(code: str) -> str:
    return "\n".join(line for line in code.splitlines() if not line.lstrip().startswith(("%", "!")))


def test_no_test_compares_against_a_date_the_clock_will_cross() -> None:
    found = [f"{path.relative_to(ROOT)}:{line} {function}(): {day}"
             for path in python_files("tests") if path.name != "test_time_bombs.py"
             for line, function, day in unpinned_dates(path)]
    assert found == [], "set the test's clock (a frozen Clock, faketime) or derive the date"


def test_every_listed_wall_clock_place_still_exists() -> None:
    """The allowance list shrinks with the code: a stale entry would hide a new read."""
    for relative, functions in WALL_CLOCK.items():
        reads = {f for _, f, _ in wall_clock_reads(ast.parse((ROOT / relative).read_text()))}
        assert set(functions) <= reads, f"{relative}: {set(functions) - reads} read no clock"


def test_the_scanner_finds_wall_clock_reads() -> None:
    source = (
        "import datetime as dt, pandas as pd, time\n"
        "def f():\n"
        "    dt.date.today(); dt.datetime.now(dt.UTC); pd.Timestamp('today')\n"
        "    pd.Timestamp.now(); time.localtime(); client.today(); clock.now()\n"
        "    pd.Timestamp('2025-01-01'); time.localtime(0)\n")
    calls = [call for _, _, call in wall_clock_reads(ast.parse(source))]
    assert calls == ["dt.date.today", "dt.datetime.now", "pd.Timestamp('today')",
                     "pd.Timestamp.now", "time.localtime"]


def test_the_scanner_finds_dates_the_clock_will_cross(tmp_path: Path) -> None:
    probe = tmp_path / "test_probe.py"
    probe.write_text(
        'DUE = "2027-03-01"\n'
        'def test_a(api):\n    assert api.create(due=DUE)\n'
        'def test_b(timed):\n    assert timed.create(due="2027-03-02")\n'
        'def test_c(api):\n    assert api.create(due="2024-02-30") and dt.date(2031, 5, 1)\n'
        'def test_d(api):\n    assert api.create(due="2024-01-01", note="2089-12-31")\n'
        'def test_e(api):\n    assert api.create(due="2099-12-01")\n'
        'def helper():\n    return "2028-01-01"\n'
        'def test_f(timed):\n    assert timed.create(due=helper())\n'
        'def loose():\n    return "2028-02-01"\n'
        'def test_g(api):\n    assert api.create(due=loose())\n')
    found = [(name, day.isoformat()) for _, name, day in unpinned_dates(probe)]
    assert sorted(found) == [("loose", "2028-02-01"), ("test_a", "2027-03-01"),
                             ("test_c", "2031-05-01"), ("test_d", "2089-12-31")]
