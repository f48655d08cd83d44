"""Run the whole pipeline in this process, as `perfpredict run` does, and summarise it for people."""

from __future__ import annotations

import os
from dataclasses import dataclass, field

import dagster as dg

from dagster_project.definitions import defs
from dagster_project.defs.training.assets import MODEL_ASSETS


@dataclass
class PipelineOutcome:
    success: bool
    lines: list[str] = field(default_factory=list)


def run_pipeline(
    paths: list[str] | None = None, include_default_data: bool = True, training: dict | None = None
) -> PipelineOutcome:
    """Execute ``build_everything`` in-process; runs show up in the UI when DAGSTER_HOME is set.

    ``training`` overrides the tuning budget of every metric model (``time_budget_s``, ``n_trials``).
    """
    instance = dg.DagsterInstance.get() if os.environ.get("DAGSTER_HOME") else dg.DagsterInstance.ephemeral()
    ops = {"raw_tables": {"config": {"paths": paths or [], "include_default_data": include_default_data}}}
    ops.update({asset.op.name: {"config": training} for asset in MODEL_ASSETS if training})
    run_config = dg.RunConfig(
        ops=ops,
        loggers={"console": {"config": {"log_level": "WARNING"}}},  # the summary below is what people read
    )
    result = defs.resolve_job_def("build_everything").execute_in_process(
        run_config=run_config, instance=instance, raise_on_error=False
    )
    return PipelineOutcome(result.success, _describe(result))


def _describe(result: dg.ExecuteInProcessResult) -> list[str]:
    lines = []
    for event in result.all_events:
        if event.event_type == dg.DagsterEventType.ASSET_MATERIALIZATION:
            materialization = event.event_specific_data.materialization
            rows = materialization.metadata.get("dagster/row_count")
            suffix = f" ({rows.value} rows)" if rows is not None else ""
            lines.append(f"materialized {materialization.asset_key.to_user_string()}{suffix}")
        elif event.event_type == dg.DagsterEventType.ASSET_CHECK_EVALUATION:
            evaluation = event.event_specific_data
            if not evaluation.passed:
                lines.append(f"FAILED check {evaluation.check_name} on {evaluation.asset_key.to_user_string()}: {evaluation.description or ''}")
        elif event.event_type == dg.DagsterEventType.STEP_FAILURE:
            lines.append(f"FAILED step {event.step_key}: {event.event_specific_data.error.message.strip()}")
    lines.append("pipeline succeeded" if result.success else "pipeline FAILED: the last good tables stay in place")
    return lines
