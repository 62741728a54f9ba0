# portapack: `make demo` builds a bundled example for all four platforms and runs it under
# each platform's own local runtime; `make test` runs the test suite. Both install first.
# `make drift` runs the platform tests against the NEWEST release of each platform SDK.
PYTHON ?= python3.11
VENV   ?= .venv
BIN    := $(VENV)/bin
EXAMPLE ?= examples/text-stats

DRIFT_VENV ?= .venv-drift
DRIFT_SDKS := modal truss cog runpod
# Test files that build, import or run generated artifacts under the platforms' SDKs.
DRIFT_TESTS := $(wildcard tests/test_platforms.py tests/test_golden.py tests/test_adversarial.py \
	tests/test_cog_platform.py tests/test_local_cli.py tests/test_deploy_truss.py \
	tests/test_deploy_modal.py)

.PHONY: install demo test lint bench drift clean

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

# A separate venv: portapack and the test tools, then each platform SDK at its newest release
# (`--upgrade`, every run, ignoring the tested ranges pinned in pyproject.toml's extras). The tests run
# with pyproject's filterwarnings, so a platform DeprecationWarning fails them. Golden files
# are compared as usual: a newer SDK needs no change to what portapack generates, or it shows.
drift:
	test -x $(DRIFT_VENV)/bin/python || $(PYTHON) -m venv $(DRIFT_VENV)
	$(DRIFT_VENV)/bin/pip install --quiet --upgrade pip
	$(DRIFT_VENV)/bin/pip install --quiet -e . "pytest>=8" "jsonschema>=4" "numpy>=1.26" "docker>=7"
	$(DRIFT_VENV)/bin/pip install --quiet --upgrade $(DRIFT_SDKS)
	@$(DRIFT_VENV)/bin/python -c "import importlib.metadata as m; \
	print('drift: testing against', ', '.join(f'{p} {m.version(p)}' for p in '$(DRIFT_SDKS)'.split()))"
	$(DRIFT_VENV)/bin/python -m pytest -q -p no:cacheprovider $(DRIFT_TESTS)

clean:
	rm -rf build dist examples/*/build .pytest_cache $(DRIFT_VENV)
