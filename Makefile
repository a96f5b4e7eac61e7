# `make test` is CI's command; `make demo` runs the main job. Both build the venv first.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
INSTALLED := $(VENV)/.installed

.PHONY: install lint typecheck test demo bench profile studio clean

$(INSTALLED): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev,local,openai,eval]'
	touch $@

install: $(INSTALLED)

lint: install
	$(BIN)/ruff check emostage tests bench
	$(BIN)/ruff format --check emostage tests bench

typecheck: install
	$(BIN)/mypy emostage bench

test: lint typecheck
	$(BIN)/python -m pytest tests
	EMOSTAGE_BACKEND=scripted $(BIN)/python -m pytest --nbmake notebooks

demo: install
	$(BIN)/emostage respond --backend auto --json examples/ja_work_stress.json

bench: install
	$(BIN)/python -m bench

profile: install
	$(BIN)/python -m bench.profile

studio: install
	$(BIN)/python -m pip install --quiet 'langgraph-cli[inmem]'
	LANGGRAPH_NO_VERSION_CHECK=true LANGSMITH_TRACING=false $(BIN)/langgraph dev

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
