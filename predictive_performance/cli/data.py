"""Commands that fill and run the warehouse: ingest, run, benchmark, status."""

from __future__ import annotations

import contextlib
import io
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from predictive_performance.cli.app import EXIT_REJECTED, EXIT_UNUSABLE_INPUT, app, console, errors
from predictive_performance.ingest import FORMATS  # the readers (pandas, DuckDB) load inside the command
from predictive_performance.settings import Settings, SettingsError
from predictive_performance.warehouse import Warehouse, WarehouseError

QUIET = typer.Option("--quiet", "-q", help="No progress lines, only the summary (also when stdout is not a terminal).")


@app.command()
def ingest(
    path: Annotated[Path, typer.Argument(help="A file or folder of benchmark results.")],
    fmt: Annotated[str, typer.Option("--format", help=f"One of: {', '.join(FORMATS)}.")] = "auto",
    allow_partial: Annotated[bool, typer.Option(help="Store the valid rows of a file that has rejected rows.")] = False,
    quiet: Annotated[bool, QUIET] = False,
) -> None:
    """Add benchmark results to the warehouse and report every rejected row."""
    from predictive_performance.cli.progress_view import shown_progress
    from predictive_performance.ingest import IngestError, ingest_path
    from predictive_performance.ingest.canonical import UnreadableFileError
    from predictive_performance.ingest.validation import SchemaError

    warehouse = Warehouse.from_env()
    try:
        with shown_progress(console, quiet):
            reports = ingest_path(path, warehouse, fmt=fmt, allow_partial=allow_partial)
    except IngestError as error:
        errors.print(f"rejected: {error}", markup=False)
        raise typer.Exit(EXIT_REJECTED) from error
    except (SchemaError, UnreadableFileError, WarehouseError, FileNotFoundError, ValueError) as error:
        errors.print(f"error: {error}", markup=False)
        raise typer.Exit(EXIT_UNUSABLE_INPUT) from error
    for report in reports:
        console.print(report.summary(), markup=False)
    if any(report.rejects for report in reports):
        raise typer.Exit(EXIT_REJECTED)


@app.command()
def run(
    paths: Annotated[
        list[Path] | None, typer.Argument(help="Extra files to ingest first (default $PERFPREDICT_INPUT_PATHS).")
    ] = None,
    default_data: Annotated[
        bool | None,
        typer.Option(
            "--default-data/--no-default-data",
            help="Ingest the embedded sample data and ../shared/data if new (default $PERFPREDICT_INCLUDE_DEFAULT_DATA, else yes).",
        ),
    ] = None,
    time_budget: Annotated[
        float | None,
        typer.Option(help="Seconds of formulation screen and hyperparameter search per partition of a metric (default $PERFPREDICT_TIME_BUDGET_S, else TrainingConfig's)."),
    ] = None,
    trials: Annotated[
        int | None,
        typer.Option(help="Optuna trials per learner and metric, at most (default $PERFPREDICT_TRIALS, else TrainingConfig's)."),
    ] = None,
    thorough: Annotated[
        bool,
        typer.Option(
            "--thorough",
            help="The full model search (two minutes of tuning per metric, more folds) instead of the few-minute default "
            "(default $PERFPREDICT_THOROUGH, else no).",
        ),
    ] = False,
    quiet: Annotated[bool, QUIET] = False,
) -> None:
    """Run the whole pipeline: ingest, dbt, quality gates, training, predictions."""
    from dagster_project.instance import prepare_instance_folder  # the CLI reaches into orchestration only here
    from dagster_project.pipeline import run_pipeline
    from predictive_performance.cli.progress_view import shown_progress

    try:
        settings = Settings.from_env().with_overrides(
            input_paths=tuple(paths) if paths else None, include_default_data=default_data, time_budget_s=time_budget, n_trials=trials,
            thorough=thorough or None,
        )
        prepare_instance_folder(settings)  # the run's Dagster instance: an unusable $DAGSTER_HOME is refused before any work
    except SettingsError as error:
        errors.print(f"error: {error}", markup=False)
        raise typer.Exit(EXIT_UNUSABLE_INPUT) from error
    # dagster-dbt echoes every dbt log line to stdout; they stay in dbt/logs/dbt.log, people read the progress
    screen = Console(file=sys.stdout, soft_wrap=True, highlight=False)  # the terminal, before stdout is set aside
    with contextlib.redirect_stdout(io.StringIO()), shown_progress(screen, quiet):
        outcome = run_pipeline(settings)
    for line in outcome.lines:
        console.print(line, markup=False)
    if not outcome.success:
        raise typer.Exit(1)


@app.command()
def benchmark(
    budget: Annotated[int | None, typer.Option(help="How many configurations to measure.")] = None,
    configs: Annotated[Path | None, typer.Option(help="CSV, Parquet or JSON of configurations to run instead of the plan.")] = None,
    repeats: Annotated[int, typer.Option(help="Timed repeats per configuration (their spread is reported).")] = 3,
    hardware_name: Annotated[
        str | None,
        typer.Option("--hardware", help="A device here, measured or not: run the --budget (default 5) tests that fix its predictions best."),
    ] = None,
    describe_device: Annotated[
        bool,
        typer.Option(
            "--describe-device",
            help="Only describe the devices here that the hardware catalog lacks (detection and micro-benchmarks); measure no configurations.",
        ),
    ] = False,
) -> None:
    """Measure configurations on this machine (the active-learning queue first) and ingest them.

    A device the hardware catalog lacks is described first (detection and micro-benchmarks, stored
    as a catalog load), so that its rows train and predictions for it work.
    """
    from predictive_performance.benchmark import detect_hardware, run_benchmark_command  # heavy runtimes load only here
    from predictive_performance.benchmark.microbench import describe_missing_devices

    try:
        warehouse = Warehouse.from_env()
        hardware = detect_hardware()
        for line in describe_missing_devices(warehouse, hardware):
            console.print(line, markup=False)
        if describe_device:
            return
        if hardware_name is not None:
            configs = _device_plan(warehouse, hardware_name, budget or 5)
        report = run_benchmark_command(budget, configs, warehouse, repeats=repeats, hardware=hardware)
    except (WarehouseError, FileNotFoundError, ValueError) as error:
        errors.print(f"error: {error}", markup=False)
        raise typer.Exit(EXIT_UNUSABLE_INPUT) from error
    console.print(report.summary(), markup=False)
    if report.planned and not report.load_id:
        raise typer.Exit(1)


def _device_plan(warehouse: Warehouse, hardware_name: str, budget: int) -> Path:
    """The first tests for a device (``ActiveLearningSystem.recommend_configurations``) as a configurations file."""
    import tempfile

    import pandas as pd

    from predictive_performance.active_learning import ActiveLearningSystem

    chosen = ActiveLearningSystem(warehouse=warehouse).recommend_configurations(budget=budget, hardware=hardware_name)
    path = Path(tempfile.mkdtemp(prefix="perfpredict-plan-")) / "configurations.csv"
    pd.DataFrame(chosen)[["model_name", "batch_size", "precision", "mode"]].to_csv(path, index=False)
    return path


@app.command()
def status() -> None:
    """Show what the warehouse holds: sources and loads, model versions with their held-out error, what is new."""
    from predictive_performance.status import WarehouseStatus  # read-only, no model library

    try:
        report = WarehouseStatus.read(Warehouse.from_env())
    except (WarehouseError, SettingsError) as error:
        errors.print(f"error: {error}", markup=False)
        raise typer.Exit(EXIT_UNUSABLE_INPUT) from error
    for part in report.render():
        console.print(part, markup=False)
