# Two entry points: `make run` (set up, then the main job) and `make test` (set up, then the tests).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# The payer-page test drives Debian's Chromium through playwright; never a downloaded browser.
CHROMIUM := /usr/bin/chromium
# Debian's faketime moves a process's clock (children included): the notebook tests run their
# kernels on set days with it.
FAKETIME := /usr/bin/faketime
# The day of the suite's second pass in `make test` (a January day: month-end, quarter-end
# and year-start arithmetic all turn over there), and which tests it runs.
DAY ?= 2027-01-15
# (Left out too: size, time and hostile-input limits, whose answers hold no date.)
DAY_TESTS ?= -m "not slow" --ignore tests/test_schemathesis.py --ignore tests/test_notebooks.py \
	--ignore tests/test_browser_notebooks.py --ignore tests/test_hostile_names.py \
	--ignore tests/test_request_limits.py --ignore tests/test_webhook_limits.py

.PHONY: run test test-at test-wheel lint bench setup clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	touch $(STAMP)

$(CHROMIUM) $(FAKETIME):
	@echo "installing Debian's chromium and faketime (needs root) for the browser and date tests"
	apt-get update -qq
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq -o=Dpkg::Use-Pty=0 chromium faketime \
		>/dev/null

setup: $(STAMP)

# JupyterLab on the notebooks over the seeded emulator; `make run HEADLESS=1` executes them
# all with nbclient instead and leaves the executed notebooks and the report in out/.
# The book is ~/.ppnb/emulator.sqlite (the CLI's too) unless DB names another one
# (`PPNB_TODAY=2028-02-29 make run HEADLESS=1 DB=out/leap.sqlite`).
run: $(STAMP)
	$(BIN)/ppnb lab $(if $(DB),--db $(DB)) --out out $(if $(HEADLESS),--headless)

# ruff, and the layers: import-linter's contracts in pyproject.toml (README "Architecture")
lint: $(STAMP)
	$(BIN)/ruff check ppnb tests benchmarks
	$(BIN)/lint-imports

test: lint $(CHROMIUM) $(FAKETIME)
	$(BIN)/python -m pytest -q --durations=25
	$(MAKE) --no-print-directory test-at DAY=$(DAY) DAY_TESTS='$(DAY_TESTS)'
	$(MAKE) --no-print-directory test-wheel

# The suite with every Python process's wall clock (children included) on $(DAY) at 10:00 UTC,
# running on from there: `make test-at DAY=2028-02-29 DAY_TESTS=tests/test_rules.py`. The clock
# is moved by one offset (tests/conftest.py, time-machine), so a server and the processes it
# starts agree on the time, and sleeps and timeouts run on real time.
test-at: $(STAMP) $(FAKETIME)
	@echo "the suite as of $(DAY)"
	PPNB_SUITE_DAY=$(DAY) $(BIN)/python -m pytest -q -p no:cacheprovider $(DAY_TESTS)

# The package as users get it: `python -m build`, then the wheel in fresh venvs outside the
# checkout (core only, and ppnb[all] running `ppnb lab --headless` and `ppnb lab`).
test-wheel: $(STAMP)
	$(BIN)/python .ci/wheel_check.py

bench: $(STAMP)
	$(BIN)/python -m benchmarks

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .hypothesis
