# portapack: `make demo` builds a bundled example for all four platforms and runs it under
# each platform's own local runtime; `make test` runs the test suite. Both install first.
PYTHON ?= python3.11
VENV   ?= .venv
BIN    := $(VENV)/bin
EXAMPLE ?= examples/text-stats

.PHONY: install demo test lint bench clean

install: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e ".[dev]"
	touch $@

demo: install
	cd $(EXAMPLE) && ../../$(BIN)/portapack build --target all --out build
	cd $(EXAMPLE) && ../../$(BIN)/portapack test --out build

test: install
	$(BIN)/python -m pytest -q

lint: install
	$(BIN)/ruff check portapack tests

bench: install
	$(BIN)/python tests/bench.py

clean:
	rm -rf build dist examples/*/build .pytest_cache
