"""Commands that fill and run the warehouse: ingest, run, benchmark, status."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from predictive_performance.cli.app import EXIT_REJECTED, EXIT_UNUSABLE_INPUT, app, console, errors
from predictive_performance.ingest import FORMATS, IngestError, ingest_path
from predictive_performance.ingest.canonical import UnreadableFileError
from predictive_performance.ingest.validation import SchemaError
from predictive_performance.settings import Settings, SettingsError
from predictive_performance.warehouse import Warehouse, WarehouseError


@app.command()
def ingest(
    path: Annotated[Path, typer.Argument(help="A file or folder of benchmark results.")],
    fmt: Annotated[str, typer.Option("--format", help=f"One of: {', '.join(FORMATS)}.")] = "auto",
    allow_partial: Annotated[bool, typer.Option(help="Store the valid rows of a file that has rejected rows.")] = False,
) -> None:
    """Add benchmark results to the warehouse and report every rejected row."""
    warehouse = Warehouse.from_env()
    try:
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
        typer.Option(help="Seconds of hyperparameter search per metric (default $PERFPREDICT_TIME_BUDGET_S, else TrainingConfig's)."),
    ] = None,
    trials: Annotated[
        int | None,
        typer.Option(help="Optuna trials per learner and metric, at most (default $PERFPREDICT_TRIALS, else TrainingConfig's)."),
    ] = None,
) -> None:
    """Run the whole pipeline: ingest, dbt, quality gates, training, predictions."""
    from dagster_project.pipeline import run_pipeline  # the one place the CLI reaches into orchestration

    try:
        settings = Settings.from_env().with_overrides(
            input_paths=tuple(paths) if paths else None, include_default_data=default_data, time_budget_s=time_budget, n_trials=trials
        )
    except SettingsError as error:
        errors.print(f"error: {error}", markup=False)
        raise typer.Exit(EXIT_UNUSABLE_INPUT) from error
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
) -> None:
    """Measure configurations on this machine (the active-learning queue first) and ingest them."""
    from predictive_performance.benchmark import run_benchmark_command  # heavy runtimes load only here

    try:
        report = run_benchmark_command(budget, configs, Warehouse.from_env(), repeats=repeats)
    except (WarehouseError, FileNotFoundError, ValueError) as error:
        errors.print(f"error: {error}", markup=False)
        raise typer.Exit(EXIT_UNUSABLE_INPUT) from error
    console.print(report.summary(), markup=False)
    if report.planned and not report.load_id:
        raise typer.Exit(1)


@app.command()
def status() -> None:
    """Show what the warehouse holds: rows per raw table and the latest loads."""
    try:
        warehouse = Warehouse.from_env()
        loads = warehouse.query(
            "select load_id, source, format, rows_accepted, rows_rejected, rows_skipped, loaded_at "
            "from raw.loads order by load_id desc limit 10"
        )
    except (WarehouseError, SettingsError) as error:
        errors.print(str(error), markup=False)
        raise typer.Exit(EXIT_UNUSABLE_INPUT) from error
    console.print(f"warehouse {warehouse.path}: {warehouse.row_counts()}")
    table = Table(title="latest loads")
    for column in loads.columns:
        table.add_column(column)
    for row in loads.itertuples(index=False):
        table.add_row(*map(str, row))
    console.print(table)
