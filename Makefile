# The two commands a newcomer runs: `make demo` and `make test`.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: demo test install install-test runners bench clean

$(BIN)/python:
	$(PY) -m venv $(VENV)
	$(BIN)/python -m pip install --upgrade pip

install: $(BIN)/python
	$(BIN)/pip install -e .

install-test: $(BIN)/python
	$(BIN)/pip install -e '.[test]'

demo: install
	$(BIN)/staticml quickstart

# The runners (wine, qemu, chromium, java, node) let the suite run every target here;
# STATICML_REQUIRE_RUNNERS makes a missing runner a failure rather than a skip.
runners:
	scripts/install-runners

test: install-test runners
	STATICML_REQUIRE_RUNNERS=1 $(BIN)/python -m pytest -n 2 tests

bench: $(BIN)/python
	$(BIN)/pip install -e '.[test,bench]'
	$(BIN)/python bench/pipelines.py
	$(BIN)/python bench/trees.py
	$(BIN)/python bench/wasm_latency.py
	$(BIN)/python bench/java_latency.py
	$(BIN)/python bench/target_builds.py

clean:
	rm -rf $(VENV) dist build .pytest_cache
