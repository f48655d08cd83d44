"""dbt and the Great Expectations suites spell the vocabulary as literals (SQL and JSON cannot import
Python); these tests prove the literals agree with ``predictive_performance.vocabulary``."""

from __future__ import annotations

import ast
import json
import re

import pytest
import yaml

from predictive_performance.modeling.features import GENERATIVE_TYPES
from predictive_performance.modeling.layers import SPLIT_PARALLELISMS
from predictive_performance.settings import DBT_PROJECT_DIR, EXPECTATIONS_DIR
from predictive_performance.vocabulary import (
    DEFAULT_LATENCY_KIND,
    DEFAULT_WORKLOAD,
    LATENCY_KINDS,
    MODES,
    PARALLELISMS,
    PLATFORMS,
    POWER_SCOPES,
    PRECISION_ALIASES,
    PRECISIONS,
    SYSTEM_BATCHED_WORKLOADS,
    WORKLOADS,
    metric_columns,
    metrics,
)

CATEGORIES = {
    "hardware_platform": PLATFORMS,
    "precision": PRECISIONS,
    "mode": MODES,
    "workload": WORKLOADS,
    "latency_kind": LATENCY_KINDS,
    "power_scope": POWER_SCOPES,
    "parallelism": PARALLELISMS,
}


def dbt_vars() -> dict:
    return yaml.safe_load((DBT_PROJECT_DIR / "dbt_project.yml").read_text())["vars"]


def suite(name: str) -> list[dict]:
    return json.loads((EXPECTATIONS_DIR / f"{name}.json").read_text())["expectations"]


def columns_checked(name: str, expectation: str, **kwargs: object) -> set[str]:
    """The columns ``expectation`` checks in suite ``name``, with at least ``kwargs`` among its arguments."""
    return {
        e["kwargs"]["column"] for e in suite(name)
        if e["type"] == expectation and kwargs.items() <= e["kwargs"].items()
    }


def mart_columns(model: str) -> set[str]:
    """The columns ``_marts__models.yml`` documents for ``model``."""
    marts = yaml.safe_load((DBT_PROJECT_DIR / "models" / "marts" / "_marts__models.yml").read_text())
    [entry] = [m for m in marts["models"] if m["name"] == model]
    return {column["name"] for column in entry["columns"]}


def test_dbt_vars_hold_the_vocabulary_categories():
    variables = dbt_vars()
    assert set(variables["platforms"]) == PLATFORMS
    assert set(variables["precisions"]) == PRECISIONS
    assert set(variables["modes"]) == MODES
    assert set(variables["workloads"]) == WORKLOADS
    assert set(variables["system_batched_workloads"]) == SYSTEM_BATCHED_WORKLOADS
    assert set(variables["latency_kinds"]) == LATENCY_KINDS
    assert set(variables["power_scopes"]) == POWER_SCOPES
    assert set(variables["parallelisms"]) == PARALLELISMS
    assert tuple(variables["split_parallelisms"]) == SPLIT_PARALLELISMS  # dbt's imputation, the physics and derived
    assert tuple(variables["token_item_model_types"]) == GENERATIVE_TYPES  # dbt's roofline and features.add_roofline
    assert (variables["default_workload"], variables["default_latency_kind"]) == (DEFAULT_WORKLOAD, DEFAULT_LATENCY_KIND)
    assert tuple(variables["metric_columns"]) == metric_columns()  # the measures every row is validated on
    assert variables["precision_aliases"] == PRECISION_ALIASES


def test_dbt_vars_derived_from_the_categories_stay_within_them():
    variables = dbt_vars()
    assert set(variables["precision_bytes"]) == PRECISIONS
    assert set(variables["mode_aliases"].values()) <= MODES
    assert set(variables["platform_aliases"].values()) <= PLATFORMS
    assert set(variables["coverage_precisions"]) <= PRECISIONS
    assert set(variables["coverage_modes"]) <= MODES


@pytest.mark.parametrize("name", ["raw_benchmarks", "training_features"])
def test_gx_value_sets_are_the_vocabulary_categories(name: str):
    value_sets = {
        e["kwargs"]["column"]: set(e["kwargs"]["value_set"]) for e in suite(name) if e["type"] == "expect_column_values_to_be_in_set"
    }
    assert value_sets == CATEGORIES


@pytest.mark.parametrize("name", ["raw_benchmarks", "training_features"])
def test_gx_suites_let_only_system_batched_workloads_leave_batch_size_empty(name: str):
    [condition] = [
        e["kwargs"]["row_condition"] for e in suite(name)
        if e["type"] == "expect_column_values_to_not_be_null" and e["kwargs"]["column"] == "batch_size"
    ]
    match = re.fullmatch(r"workload not in (\[.*\])", condition)
    assert match and set(ast.literal_eval(match.group(1))) == SYSTEM_BATCHED_WORKLOADS


@pytest.mark.parametrize("name", ["raw_benchmarks", "training_features"])
def test_gx_suites_require_every_metric_to_be_positive(name: str):
    positive = columns_checked(name, "expect_column_values_to_be_between", min_value=0, strict_min=True)
    assert set(metric_columns()) <= positive


def test_raw_gx_suite_checks_exactly_the_metric_columns_as_measures():
    positive = columns_checked("raw_benchmarks", "expect_column_values_to_be_between", min_value=0, strict_min=True)
    assert positive == set(metric_columns())


def test_predictions_gx_suite_covers_every_metric_and_nothing_else():
    predicted = {column.removesuffix("_pred") for column in columns_checked("predictions", "expect_column_values_to_be_between")
                 if column.endswith("_pred")}
    assert predicted == set(metric_columns())
    confidences = columns_checked("predictions", "expect_column_values_to_be_between", min_value=0, max_value=1)
    assert confidences == {m.figure("confidence") for m in metrics()}
    ordered = {
        (e["kwargs"]["column_A"], e["kwargs"]["column_B"]) for e in suite("predictions")
        if e["type"] == "expect_column_pair_values_a_to_be_greater_than_b"
    }
    assert ordered == {pair for m in metrics() for pair in
                       [(m.figure("pred"), m.figure("lower")), (m.figure("upper"), m.figure("pred"))]}


@pytest.mark.parametrize("model", ["fct_benchmark_results", "training_features"])
def test_dbt_marts_carry_every_metric_column(model: str):
    assert set(metric_columns()) <= mart_columns(model)


def test_training_features_carry_the_log_of_every_metric():
    assert {f"log_{column}" for column in metric_columns()} <= mart_columns("training_features")
