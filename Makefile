# Two entry points: `make run` (set up, then the main job) and `make test` (set up, then the tests).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# The payer-page test drives Debian's Chromium through playwright; never a downloaded browser.
CHROMIUM := /usr/bin/chromium

.PHONY: run test lint bench setup clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	touch $(STAMP)

$(CHROMIUM):
	@echo "installing Debian's chromium (needs root) for tests/test_payer_page.py"
	apt-get update -qq
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq -o=Dpkg::Use-Pty=0 chromium >/dev/null

setup: $(STAMP)

# JupyterLab on the notebooks over the seeded emulator; `make run HEADLESS=1` executes them
# all with nbclient instead and leaves the executed notebooks and the report in out/.
run: $(STAMP)
	$(BIN)/ppnb lab --db data/emulator.sqlite $(if $(HEADLESS),--headless --out out)

lint: $(STAMP)
	$(BIN)/ruff check ppnb tests benchmarks

test: lint $(CHROMIUM)
	$(BIN)/python -m pytest -q

bench: $(STAMP)
	$(BIN)/python -m benchmarks

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .hypothesis
