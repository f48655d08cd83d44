# Two entry points for a fresh machine with Python 3.11: `make run` and `make test`.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin

.PHONY: setup run test dagster-dev

# Dagster reads dbt's manifest when it loads the definitions; it is parsed here, not on import.
MANIFEST := dbt/target/manifest.json
DBT_SOURCES := dbt/dbt_project.yml $(shell find dbt/models dbt/macros dbt/seeds dbt/tests -type f)

setup: $(VENV)/.installed $(MANIFEST)

# torch comes from pip's local wheel (a CPU build); a plain resolver would fetch a multi-GB CUDA build.
# Bytecode is compiled at install: where PYTHONDONTWRITEBYTECODE is set, every command would compile its imports again.
$(VENV)/.installed: pyproject.toml
	command -v uv >/dev/null || $(PYTHON) -m pip install --quiet uv
	uv venv --seed --allow-existing --python $(PYTHON) $(VENV)
	$(BIN)/python -m pip install --quiet "torch==2.13.0"
	uv pip install --python $(BIN)/python --compile-bytecode -e ".[bench,dev]"
	touch $@

$(MANIFEST): $(VENV)/.installed $(DBT_SOURCES)
	$(BIN)/dbt --quiet parse --project-dir dbt --profiles-dir dbt
	touch $@

run: setup
	$(BIN)/perfpredict run

test: setup
	$(BIN)/pytest

# The project's one Dagster instance (dagster_project/instance.py): `perfpredict run` defaults to the same folder.
export DAGSTER_HOME ?= $(CURDIR)/.dagster

# `dagster dev` re-parses the dbt project on every load (DbtProject.prepare_if_dev) with the dbt on PATH.
dagster-dev: setup
	$(BIN)/python -m dagster_project.instance
	PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/dagster dev -w workspace.yaml
