"""The ``perfpredict`` command line (DESIGN.md section 4)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from predictive_performance.ingest import FORMATS, IngestError, ingest_path
from predictive_performance.ingest.canonical import UnreadableFileError
from predictive_performance.ingest.validation import SchemaError
from predictive_performance.warehouse import Warehouse, WarehouseError

app = typer.Typer(help="Predict ML model performance on hardware nobody has benchmarked yet.", no_args_is_help=True)
console = Console(soft_wrap=True, highlight=False)
errors = Console(stderr=True, soft_wrap=True, highlight=False)

EXIT_REJECTED = 1
EXIT_UNUSABLE_INPUT = 2


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
    paths: Annotated[list[Path] | None, typer.Argument(help="Extra files to ingest first.")] = None,
    default_data: Annotated[bool, typer.Option(help="Ingest the embedded sample data and ../shared/data if new.")] = True,
) -> None:
    """Run the whole pipeline: ingest, dbt, quality gates, and everything downstream."""
    from dagster_project.pipeline import run_pipeline  # the one place the CLI reaches into orchestration

    outcome = run_pipeline([str(p) for p in paths or []], include_default_data=default_data)
    for line in outcome.lines:
        console.print(line, markup=False)
    if not outcome.success:
        raise typer.Exit(1)


@app.command()
def status() -> None:
    """Show what the warehouse holds: rows per raw table and the latest loads."""
    warehouse = Warehouse.from_env()
    try:
        loads = warehouse.query(
            "select load_id, source, format, rows_accepted, rows_rejected, rows_skipped, loaded_at "
            "from raw.loads order by load_id desc limit 10"
        )
    except WarehouseError as error:
        errors.print(str(error), markup=False)
        raise typer.Exit(EXIT_UNUSABLE_INPUT) from error
    console.print(f"warehouse {warehouse.path}: {warehouse.row_counts()}")
    table = Table(title="latest loads")
    for column in loads.columns:
        table.add_column(column)
    for row in loads.itertuples(index=False):
        table.add_row(*map(str, row))
    console.print(table)


if __name__ == "__main__":
    app()
