"""Where things live: every path comes from the environment, with defaults under the working directory."""

from __future__ import annotations

import os
from pathlib import Path

DB_PATH_VARIABLE = "BENCHMARK_DB_PATH"
ARTIFACTS_VARIABLE = "PERFPREDICT_ARTIFACTS"
DEFAULT_DB_PATH = Path("data") / "benchmarks.duckdb"
DEFAULT_ARTIFACTS_DIR = Path("artifacts")

PACKAGE_ROOT = Path(__file__).resolve().parent
PROJECT_ROOT = PACKAGE_ROOT.parent
DBT_PROJECT_DIR = PROJECT_ROOT / "dbt"
EXPECTATIONS_DIR = PROJECT_ROOT / "expectations"
SAMPLE_DATA_DIR = PROJECT_ROOT / "data" / "sample"
SHARED_DATA_DIR = PROJECT_ROOT.parent / "shared" / "data"


def database_path() -> Path:
    """The warehouse file: ``$BENCHMARK_DB_PATH``, else ``./data/benchmarks.duckdb``, made absolute.

    Absolute because dbt resolves relative paths against its own working directory.
    """
    return Path(os.environ.get(DB_PATH_VARIABLE) or DEFAULT_DB_PATH).expanduser().resolve()


def artifacts_dir() -> Path:
    """Where trained models, reports and charts are written."""
    return Path(os.environ.get(ARTIFACTS_VARIABLE) or DEFAULT_ARTIFACTS_DIR).expanduser().resolve()
