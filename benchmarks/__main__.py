"""Every performance figure in one run, each beside the baseline measured in the same run.

Run: ``python -m benchmarks [--quick]`` (or ``make bench``). About five minutes on 2 cores;
``--quick`` uses smaller books for a smoke run. Each benchmark prints its own detail as it goes;
the table at the end gathers the headline figures:

* pull 100k invoices: ppnb vs the naive loop vs the parse floor (``benchmarks.pull``);
* flattening vs ``pd.json_normalize`` (``benchmarks.flatten``);
* emulator search throughput and single-operation rates (``benchmarks.emulator``);
* aging + KPIs on 1M rows, and 24 month-end agings (``benchmarks.analysis``);
* re-sync request count vs a full pull (``benchmarks.pull``);
* 1,000 bulk reminders: time and requests (``benchmarks.bulk``);
* an invoices-only pull of 15,000 invoices, and whole tables under 200-300 ms of latency per
  call against the naive loop and the floor of pages ÷ concurrency × latency
  (``benchmarks.paypal_like``).
"""

from __future__ import annotations

import argparse
import importlib
import os
import platform
import time

#: (module, arguments for the full run, arguments for --quick)
RUNS = [
    ("pull", ["--invoices", "100000"], ["--invoices", "10000"]),
    ("flatten", ["--invoices", "100000", "--repeat", "1"], ["--invoices", "10000"]),
    ("emulator", ["--invoices", "30000", "--requests", "1000"],
     ["--invoices", "5000", "--requests", "300"]),
    ("analysis", [], ["--invoices", "100000"]),
    ("bulk", ["--invoices", "1000"], ["--invoices", "200"]),
    ("paypal_like", ["--invoices", "15000"], ["--invoices", "3000", "--naive-pages", "10"]),
    ("forecast", [], []),
    ("partners", [], ["--merchants", "20", "--invoices", "200"]),
]


def _number(value: float) -> str:
    whole = abs(value) >= 100 or float(value).is_integer()
    return f"{value:,.0f}" if whole else f"{value:,.2f}"


def _ratio(figure: dict) -> str:
    base = figure.get("baseline_value")
    if not base or not figure.get("value"):
        return ""
    if figure.get("lower_is_better"):
        if "%" in figure.get("goal", ""):
            return f"{figure['value'] / base:.1%}"
        return f"{base / figure['value']:.1f}x"
    return f"{figure['value'] / base:.1f}x"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small books: a smoke run")
    parser.add_argument("--only", nargs="+", choices=[name for name, _, _ in RUNS],
                        help="run only these benchmarks")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    load = os.getloadavg()[0]
    figures: list[dict] = []
    for name, full, quick in RUNS:
        if args.only and name not in args.only:
            continue
        print(f"\n=== benchmarks.{name} {' '.join(quick if args.quick else full)}", flush=True)
        module = importlib.import_module(f"benchmarks.{name}")
        figures += module.main(quick if args.quick else full) or []
    elapsed = time.perf_counter() - started

    print(f"\n=== all figures ({os.cpu_count()} cores, Python {platform.python_version()}, "
          f"load average {load:.1f} at start, {elapsed / 60:.1f} min in all)")
    header = f"{'figure':<56}{'value':>12}  {'baseline':<38}{'value':>12}{'ratio':>8}  goal"
    print(header)
    print("-" * len(header))
    for f in figures:
        base = f.get("baseline_value")
        print(f"{f['figure']:<56}{_number(f['value']):>12}  {f.get('baseline', ''):<38}"
              f"{_number(base) if base else '':>12}{_ratio(f):>8}  {f.get('goal', '')}")


if __name__ == "__main__":
    main()
