"""The gate between raw rows and dbt: the raw_benchmarks suite."""

from __future__ import annotations

from dagster_project.defs.checks import suite_check
from dagster_project.defs.ingest.assets import RAW_RESULTS_KEY

raw_benchmarks_suite = suite_check(RAW_RESULTS_KEY, "raw_benchmarks", "raw.benchmark_results")
