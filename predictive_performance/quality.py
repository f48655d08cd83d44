"""Great Expectations suites, stored as JSON in ``expectations/``, run against DataFrames.

The suites are data under version control; this module only loads and runs them and turns
the result into something a person can act on: which expectation failed, on which column,
with a sample of the offending values.
"""

from __future__ import annotations

import json
import logging
import os
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import pandas as pd

from predictive_performance.settings import EXPECTATIONS_DIR

os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")  # no network here; GX would try to phone home


@dataclass(frozen=True)
class FailedExpectation:
    expectation: str
    column: str | None
    unexpected_count: int | None
    sample: list

    def __str__(self) -> str:
        where = f" on column {self.column}" if self.column else ""
        count = f": {self.unexpected_count} unexpected, e.g. {self.sample[:5]}" if self.unexpected_count else ""
        return f"{self.expectation}{where}{count}"


@dataclass(frozen=True)
class SuiteResult:
    suite: str
    success: bool
    evaluated: int
    failures: list[FailedExpectation]
    rows: int

    def describe(self) -> str:
        if self.success:
            return f"suite {self.suite}: all {self.evaluated} expectations met on {self.rows} rows"
        lines = [f"suite {self.suite}: {len(self.failures)} of {self.evaluated} expectations failed on {self.rows} rows"]
        return "\n".join([*lines, *(f"  - {failure}" for failure in self.failures)])

    def failures_markdown(self) -> str:
        rows = "\n".join(
            f"| {f.expectation} | {f.column or ''} | {f.unexpected_count or ''} | {', '.join(map(str, f.sample[:5]))} |"
            for f in self.failures
        )
        return "| expectation | column | unexpected | sample |\n|---|---|---|---|\n" + rows


def suite_path(name: str, directory: Path = EXPECTATIONS_DIR) -> Path:
    return directory / f"{name}.json"


def load_suite(name: str, directory: Path = EXPECTATIONS_DIR) -> dict:
    path = suite_path(name, directory)
    if not path.exists():
        raise FileNotFoundError(f"expectation suite {name!r} not found at {path}")
    return json.loads(path.read_text(encoding="utf-8"))


def validate_frame(frame: pd.DataFrame, suite_name: str, directory: Path = EXPECTATIONS_DIR) -> SuiteResult:
    """Validate ``frame`` against the named suite in an ephemeral GX context."""
    import great_expectations as gx

    definition = load_suite(suite_name, directory)
    suite = gx.ExpectationSuite(name=definition["name"], expectations=definition["expectations"])
    batch = _batch_definition().get_batch(batch_parameters={"dataframe": frame})
    outcome = batch.validate(suite, result_format="SUMMARY")
    failures = [
        FailedExpectation(
            expectation=result.expectation_config.type,
            column=result.expectation_config.kwargs.get("column"),
            unexpected_count=result.result.get("unexpected_count"),
            sample=list(result.result.get("partial_unexpected_list") or [result.result.get("observed_value")]),
        )
        for result in outcome.results
        if not result.success
    ]
    return SuiteResult(definition["name"], bool(outcome.success), len(outcome.results), failures, len(frame))


@cache
def _batch_definition():
    """One ephemeral context per process: creating it costs about a second."""
    import great_expectations as gx

    logging.getLogger("great_expectations").setLevel(logging.WARNING)
    context = gx.get_context(mode="ephemeral")
    context.variables.progress_bars = {"globally": False, "metric_calculations": False}
    asset = context.data_sources.add_pandas("frames").add_dataframe_asset("frame")
    return asset.add_batch_definition_whole_dataframe("whole_frame")
