# `make test` is CI's command; `make demo` runs the main job. Both build the venv first.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
INSTALLED := $(VENV)/.installed
# llama-cpp-python, built portable and once per set of flags (see that file's docstring).
# Set LLAMA_CMAKE_ARGS to build with other flags, e.g. -DGGML_NATIVE=ON.
LLAMA_WHEEL := $(PYTHON) emostage/models/backends/llamacpp_build.py
WHEELHOUSE := build/wheelhouse
WHEEL := dist/emostage-$(shell sed -n 's/^version = "\(.*\)"/\1/p' pyproject.toml)-py3-none-any.whl

.PHONY: install lint typecheck test test-fast test-integration demo dist wheelhouse packages bench profile studio clean screen-model browser-test

$(INSTALLED): pyproject.toml emostage/models/backends/llamacpp_build.py
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	llama="$$($(LLAMA_WHEEL))" && $(BIN)/python -m pip install --quiet "$$llama" -e '.[dev,local,openai,eval,postgres]'
	touch $@

install: $(INSTALLED)

lint: install
	$(BIN)/ruff check emostage tests bench training
	$(BIN)/ruff format --check emostage tests bench training
	$(BIN)/lint-imports --no-cache

typecheck: install
	$(BIN)/mypy emostage bench tests training

# The sdist and the wheel, into dist/.
dist: install
	rm -rf dist
	$(BIN)/python -m build --no-isolation --outdir dist . > /dev/null

# Everything the wheel needs, so that the install test runs offline.
wheelhouse: dist
	llama="$$($(LLAMA_WHEEL))" && $(BIN)/python -m pip download --quiet --dest $(WHEELHOUSE) \
		--find-links "$$(dirname "$$llama")" '$(WHEEL)[local]' 'setuptools>=68' wheel

# Debian's PostgreSQL and nginx, installed if missing; the tests start and stop their own
# servers on 127.0.0.1.
packages:
	.ci/install-packages

test: lint typecheck wheelhouse packages
	TEST_REQUIRE_SERVICES=1 $(BIN)/python -m pytest tests
	EMOSTAGE_BACKEND=scripted $(BIN)/python -m pytest --nbmake notebooks

# The quick loop: the unit tests, which start no process, open no socket and load no model.
test-fast: lint typecheck
	$(BIN)/python -m pytest tests/unit

# The rest: servers, processes, PostgreSQL and nginx where installed, the embedded model, and
# the install test (offline, on the wheelhouse).
test-integration: wheelhouse
	$(BIN)/python -m pytest tests/integration

# The learned screen (emostage/safety/screen_model.json), rebuilt from training/data and
# tests/data/risk/dev; prints its dev recall and false-positive rate per language.
screen-model: install
	$(BIN)/python -m training.screen_model

# The browser test alone (part of `make test` too): Debian's Chromium drives
# examples/web/chat.html against `langgraph dev`; its screenshots go to docs/screenshots.
browser-test: install packages
	SCREENSHOTS_DIR=docs/screenshots TEST_REQUIRE_SERVICES=1 \
		$(BIN)/python -m pytest -n 0 tests/integration/test_browser.py

demo: install
	$(BIN)/emostage respond --backend auto --json examples/ja_work_stress.json

bench: install
	$(BIN)/python -m bench

profile: install
	$(BIN)/python -m bench.profile

studio: install
	LANGGRAPH_NO_VERSION_CHECK=true LANGSMITH_TRACING=false $(BIN)/langgraph dev

clean:
	rm -rf $(VENV) build dist .pytest_cache .mypy_cache .ruff_cache
