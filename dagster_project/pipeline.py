"""Run the whole pipeline in this process, as `perfpredict run` does, and summarise it for people."""

from __future__ import annotations

from dataclasses import dataclass, field

import dagster as dg

from dagster_project.defs.transform.project import prepare_dbt_manifest
from dagster_project.instance import project_instance
from predictive_performance.settings import Settings


@dataclass
class PipelineOutcome:
    success: bool
    lines: list[str] = field(default_factory=list)


def run_pipeline(settings: Settings | None = None) -> PipelineOutcome:
    """Execute ``build_everything`` in-process, in the project's instance, so the UI shows the run and its metadata.

    ``settings`` (default: the environment's) name the inputs and the tuning budget of every metric model.
    """
    prepare_dbt_manifest()  # a fresh clone has none, and the definitions' dbt assets read it on import
    from dagster_project.definitions import build_definitions
    from dagster_project.defs.training.assets import model_run_config

    settings = settings or Settings.from_env()
    ingest = {"paths": [str(path) for path in settings.input_paths], "include_default_data": settings.include_default_data}
    training = {
        "time_budget_s": settings.time_budget_s, "n_trials": settings.n_trials,
        "fast": settings.fast_training, "thorough": settings.thorough,
    }
    ops = {"raw_tables": {"config": ingest}, **model_run_config(training)}
    run_config = dg.RunConfig(
        ops=ops,
        # the summary below is what people read; every event, warnings and stack traces included, stays in
        # the run's log in the instance (the Dagster UI)
        loggers={"console": {"config": {"log_level": "CRITICAL"}}},
    )
    with project_instance(settings) as instance:
        result = build_definitions().resolve_job_def("build_everything").execute_in_process(
            run_config=run_config, instance=instance, raise_on_error=False
        )
    return PipelineOutcome(result.success, _describe(result))


def run_sensor_job(settings: Settings | None = None) -> PipelineOutcome:
    """``build_everything`` as the new-loads sensor starts it: no files to read, the new rows are in raw already."""
    from dagster_project.defs.automation.sensors import NO_NEW_DATA_CONFIG

    ingest = NO_NEW_DATA_CONFIG["ops"]["raw_tables"]["config"]
    settings = (settings or Settings.from_env()).with_overrides(
        input_paths=tuple(ingest["paths"]), include_default_data=ingest["include_default_data"]
    )
    return run_pipeline(settings)


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
