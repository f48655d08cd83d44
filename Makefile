# Two entry points for a fresh machine with Python 3.11: `make run` and `make test`.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin

.PHONY: setup run test dagster-dev

setup: $(VENV)/.installed

# torch comes from pip's local wheel (a CPU build); a plain resolver would fetch a multi-GB CUDA build.
$(VENV)/.installed: pyproject.toml
	command -v uv >/dev/null || $(PYTHON) -m pip install --quiet uv
	uv venv --seed --allow-existing --python $(PYTHON) $(VENV)
	$(BIN)/python -m pip install --quiet "torch==2.13.0"
	uv pip install --python $(BIN)/python -e ".[bench,dev]"
	touch $@

run: setup
	$(BIN)/perfpredict run

test: setup
	$(BIN)/pytest

dagster-dev: setup
	$(BIN)/dagster dev -w workspace.yaml
