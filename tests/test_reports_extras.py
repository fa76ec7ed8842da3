"""Without the ``reports`` extra: CSV and the file helpers still work, and every part that
needs matplotlib, xlsxwriter or reportlab says in one line which ``pip install`` adds it.

The extra is made missing in a fresh interpreter by adding a module that does not exist to
what it must provide (``ppnb._extras.EXTRAS``), the same check a core install meets; the
wheel check (``.ci/wheel_check.py``) installs the real core package."""

from __future__ import annotations

import subprocess
import sys

PROBE = """
import io, sys
import pandas as pd
import ppnb._extras as extras
extras.EXTRAS["reports"] += ("ppnb_absent_module",)
extras.EXTRAS["notebook"] += ("ppnb_absent_module",)
import ppnb.reports
out = io.StringIO()
ppnb.reports.write_csv(pd.DataFrame({"name": ["=1+1"], "amount": ["-12.50"]}), out)
print("csv", repr(out.getvalue()))
for what in ("ppnb.reports.report", "ppnb.plots", "ppnb.dashboard"):
    try:
        if what == "ppnb.reports.report":
            ppnb.reports.report
        else:
            __import__(what)
    except ImportError as exc:
        print(what, type(exc).__name__, exc)
    else:
        print(what, "imported")
print("loaded", sorted(m for m in ("matplotlib", "xlsxwriter", "reportlab", "ipywidgets")
                       if m in sys.modules))
"""


def test_a_missing_reports_extra_is_one_line_and_csv_still_works() -> None:
    done = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True,
                          timeout=120, check=True)
    lines = done.stdout.splitlines()
    assert lines[0] == "csv \"name,amount\\r\\n'=1+1,-12.50\\r\\n\""  # formula neutralised
    hint = "(missing: ppnb_absent_module): pip install 'ppnb[reports]'"
    assert lines[1] == f"ppnb.reports.report MissingExtra ppnb.reports needs the 'reports' " \
                       f"extra {hint}"
    assert lines[2] == f"ppnb.plots MissingExtra ppnb.plots needs the 'reports' extra {hint}"
    assert lines[3] == ("ppnb.dashboard MissingExtra ppnb dashboard needs the 'notebook' extra "
                        "(missing: ppnb_absent_module): pip install 'ppnb[notebook]'")
    assert lines[4] == "loaded []"  # nothing heavy was imported on the way to the message
