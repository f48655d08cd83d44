"""Commands that read the trained models: predict, recommend, evaluate, demo.

Each reads the warehouse and the saved models only; the model libraries load inside the command.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from predictive_performance import vocabulary
from predictive_performance.cli.app import EXIT_NO_MODELS, EXIT_UNUSABLE_INPUT, app, console, errors
from predictive_performance.warehouse import Warehouse, WarehouseError


def _predictor(model_path: Path | None, confidence_threshold: float = 0.5, fallback_to_similar: bool = False):
    from predictive_performance.predict import PerformancePredictor  # the model libraries load only here

    try:
        return PerformancePredictor.load(
            model_path=model_path, confidence_threshold=confidence_threshold, fallback_to_similar=fallback_to_similar
        )
    except (FileNotFoundError, WarehouseError) as error:
        errors.print(f"error: {error}", markup=False)
        raise typer.Exit(EXIT_NO_MODELS) from error


def _figure(value: float | None) -> str:
    import math

    if value is None or math.isnan(value):
        return "n/a"
    return f"{value:,.0f}" if abs(value) >= 100 else f"{value:.3g}"


@app.command("predict")
def predict_command(
    input_path: Annotated[
        Path, typer.Option("--input", help="CSV, Parquet or JSON of configurations (canonical columns, no metrics).")
    ],
    output_path: Annotated[
        Path, typer.Option("--output", help="Where to write the predictions (.csv, .parquet or .json).")
    ],
    model_path: Annotated[
        Path | None, typer.Option(help="Artifacts directory of the models (default $PERFPREDICT_ARTIFACTS).")
    ] = None,
    confidence_threshold: Annotated[float, typer.Option(help="Flag predictions below this confidence.")] = 0.5,
    fallback_to_similar: Annotated[
        bool, typer.Option(help="Use the closest catalog name for unknown models and devices.")
    ] = False,
) -> None:
    """Predict every metric, with 80 % interval and confidence, for each configuration of a file."""
    from predictive_performance.ingest.canonical import CANONICAL_SUFFIXES, UnreadableFileError
    from predictive_performance.prediction.inputs import read_configurations

    kind = CANONICAL_SUFFIXES.get(output_path.suffix.lower())
    if kind is None:
        errors.print(
            f"error: {output_path}: unsupported output type {output_path.suffix!r}; use .csv, .parquet or .json"
        )
        raise typer.Exit(EXIT_UNUSABLE_INPUT)
    try:
        configs = read_configurations(input_path)
    except (UnreadableFileError, ValueError, OSError) as error:
        errors.print(f"error: {error}", markup=False)
        raise typer.Exit(EXIT_UNUSABLE_INPUT) from error
    predictor = _predictor(model_path, confidence_threshold, fallback_to_similar)
    try:
        predictions = predictor.batch_predict(configs)
    except ValueError as error:  # unknown names (UnknownEntityError), precisions, modes, platforms
        errors.print(f"error: {input_path}: {error}", markup=False)
        raise typer.Exit(EXIT_UNUSABLE_INPUT) from error
    predictions.insert(0, "input_row", configs["input_row"].to_numpy())
    output_path.parent.mkdir(parents=True, exist_ok=True)
    if kind == "csv":
        predictions.to_csv(output_path, index=False)
    elif kind == "parquet":
        predictions.to_parquet(output_path, index=False)
    else:
        predictions.to_json(output_path, orient="records", indent=2)
    low = {
        m.key: int(predictions[m.figure("low_confidence")].fillna(False).astype(bool).sum())
        for m in predictor.trained_metrics
    }
    console.print(
        f"predicted {len(predictions)} configuration(s) -> {output_path}\n"
        f"  metrics: {', '.join(predictor.metrics)}; low confidence (< {confidence_threshold:.2f}): {low}\n"
        f"  on devices without measurements: {int((~predictions['hardware_measured']).sum())}; "
        f"fallbacks used: {int(predictions['fallback'].notna().sum())}\n"
        f"  model versions: {predictor.model_version}",
        markup=False,
    )


@app.command()
def recommend(
    model: Annotated[str, typer.Argument(help="Model name (catalog name or alias).")],
    metric: Annotated[
        str, typer.Option(help="throughput (highest), latency (lowest) or memory (lowest).")
    ] = "throughput",
    batch_size: Annotated[int, typer.Option(min=1)] = 1,
    power_constrained: Annotated[
        bool, typer.Option(help="Rank by throughput per watt (energy per batch for latency).")
    ] = False,
    precision: Annotated[str, typer.Option()] = "fp32",
    mode: Annotated[str, typer.Option()] = "inference",
    platform: Annotated[list[str] | None, typer.Option(help="Only devices of these platforms (repeatable).")] = None,
    top: Annotated[int, typer.Option(help="How many devices to show.")] = 10,
    measured_only: Annotated[bool, typer.Option(help="Only devices with measurements.")] = False,
    model_path: Annotated[Path | None, typer.Option(help="Artifacts directory of the models.")] = None,
) -> None:
    """Rank hardware for a model by predicted performance, with intervals and confidence."""
    predictor = _predictor(model_path)
    try:
        ranked = predictor.recommend_hardware(
            model,
            metric=metric,
            batch_size=batch_size,
            power_constrained=power_constrained,
            precision=precision,
            mode=mode,
            hardware_platforms=platform,
            top_k=top,
            include_unmeasured=not measured_only,
        )
    except ValueError as error:
        errors.print(f"error: {error}", markup=False)
        raise typer.Exit(EXIT_UNUSABLE_INPUT) from error
    if ranked.empty:
        console.print("no device fits this configuration", markup=False)
        raise typer.Exit(1)
    objective = ranked["objective"].iloc[0]
    unit = ranked["score_unit"].iloc[0]
    table = Table(
        title=f"{ranked['model_name'].iloc[0]}: {objective.replace('_', ' ')} ({unit}), batch size {batch_size}, "
        f"{precision} {mode}"
    )
    for column in ("#", "hardware", "platform", unit, "80% interval", "confidence", "measured"):
        table.add_column(column, justify="right" if column in ("#", unit, "confidence") else "left")
    if power_constrained:
        table.add_column("watts", justify="right")
    for row in ranked.itertuples(index=False):
        cells = [
            str(row.rank),
            row.hardware_name,
            str(row.hardware_platform),
            _figure(row.score),
            f"{_figure(row.score_lower)} – {_figure(row.score_upper)}",
            f"{row.confidence:.2f}" + (" (low)" if row.low_confidence else ""),
            "yes" if row.hardware_measured else "no",
        ]
        if power_constrained:
            cells.append(_figure(row.watts) + (" TDP" if row.watts_source == "catalog TDP" else ""))
        table.add_row(*cells)
    console.print(table)
    console.print(
        "confidence = probability that a measurement lies within ±25 % of the prediction; devices not measured are "
        f"predicted from their catalog specs. Model versions: {predictor.model_version}",
        markup=False,
    )


@app.command()
def evaluate(
    metric: Annotated[
        str | None, typer.Option(help="Only this metric, by key or column (e.g. throughput, latency or latency_ms).")
    ] = None,
    by: Annotated[str | None, typer.Option(help="Also break down by hardware_platform or model_type.")] = None,
) -> None:
    """Held-out accuracy of the current models per split, next to the physics baseline."""
    import math

    from predictive_performance.modeling import evaluation_table

    try:
        column = vocabulary.metric(metric).column if metric else None
    except ValueError as error:
        errors.print(f"error: {error}", markup=False)
        raise typer.Exit(EXIT_UNUSABLE_INPUT) from error
    warehouse = Warehouse.from_env()
    try:
        table = evaluation_table(warehouse, column)
    except WarehouseError as error:
        errors.print(f"error: {error}", markup=False)
        raise typer.Exit(EXIT_NO_MODELS) from error
    if table.empty:
        errors.print(f"no evaluation in {warehouse.path} (ml.evaluation): run `perfpredict run` first", markup=False)
        raise typer.Exit(EXIT_NO_MODELS)
    strata = ["all"] + ([by] if by else [])
    table = table[table["stratum"].isin(strata)]
    figures = [
        ("n_rows", "rows"),
        ("mape", "MAPE"),
        ("median_ape", "median APE"),
        ("within_10", "±10%"),
        ("within_25", "±25%"),
        ("r2_log", "R² log"),
        ("spearman", "Spearman"),
        ("coverage", "coverage"),
    ]
    for (metric_name, split), rows in table.groupby(["metric", "split"], sort=False):
        version = rows["model_version"].iloc[0]
        if not (rows["n_rows"].fillna(0) > 0).any():
            note = next((n for n in rows["note"].dropna() if n), "no rows to hold out")
            console.print(f"{metric_name} / {split}: not evaluated ({note})", markup=False)
            continue
        nominal = rows["nominal_coverage"].dropna()
        title = f"{metric_name} / {split}" + (f" (nominal coverage {nominal.iloc[0]:.0%})" if len(nominal) else "")
        out = Table(title=title, caption=version)
        out.add_column("method")
        if by:
            out.add_column(by)
        for _, label in figures:
            out.add_column(label, justify="right")
        for row in rows.sort_values(["stratum", "stratum_value", "method"], ascending=[True, True, False]).itertuples():
            cells = [row.method] + ([str(row.stratum_value)] if by else [])
            for column, _ in figures:
                value = getattr(row, column)
                if value is None or math.isnan(value):
                    cells.append("–")
                elif column == "n_rows":
                    cells.append(str(int(value)))
                elif column in ("mape", "median_ape", "within_10", "within_25", "coverage"):
                    cells.append(f"{value:.1%}")
                else:
                    cells.append(f"{value:.3f}")
            out.add_row(*cells)
        console.print(out)
    console.print(
        "Judge by the grouped splits (leave_one_hardware_out, leave_one_model_out); random_kfold is optimistic."
    )


@app.command()
def demo(
    model: Annotated[str | None, typer.Option(help="Model name or alias (default: the most measured model).")] = None,
    model_type: Annotated[str | None, typer.Option("--type", help="Model type, checked against the catalog.")] = None,
    hardware: Annotated[
        str | None, typer.Option(help="Device name, alias or platform (default: the most measured device).")
    ] = None,
    compare_hardware: Annotated[bool, typer.Option("--compare-hardware", help="The model across devices.")] = False,
    batch_comparison: Annotated[
        bool, typer.Option("--batch-comparison", help="The model over batch sizes on the device.")
    ] = False,
    recommend_view: Annotated[bool, typer.Option("--recommend", help="Hardware recommendation.")] = False,
    all_views: Annotated[bool, typer.Option("--all", help="Every view.")] = False,
    batch_size: Annotated[int, typer.Option(min=1)] = 1,
    sequence_length: Annotated[
        int | None,
        typer.Option(
            min=1, help="Input length (default: the one the model was measured at most, else the catalog's reference)."
        ),
    ] = None,
    precision: Annotated[str, typer.Option()] = "fp32",
    mode: Annotated[str, typer.Option()] = "inference",
    metric: Annotated[
        str, typer.Option(help="What the device views rank by: throughput, latency or memory.")
    ] = "throughput",
    power_constrained: Annotated[bool, typer.Option(help="Recommend by throughput per watt.")] = False,
    top: Annotated[int, typer.Option(min=1, help="Devices in the ranked views.")] = 12,
    output_dir: Annotated[
        Path | None, typer.Option(help="Where the charts go (default $PERFPREDICT_ARTIFACTS/demo).")
    ] = None,
    model_path: Annotated[Path | None, typer.Option(help="Artifacts directory of the models.")] = None,
) -> None:
    """Tables and PNG charts of a model's predictions, each figure with its 80 % interval and confidence.

    Without a view option, one configuration; --all shows every view.
    """
    from predictive_performance.demo import resolve_setting, run_demo
    from predictive_performance.predict import PerformancePredictor
    from predictive_performance.settings import artifacts_dir

    chosen = {"hardware": compare_hardware, "batch_sizes": batch_comparison, "recommendation": recommend_view}
    views = [name for name, wanted in chosen.items() if wanted or all_views]
    if all_views or not views:
        views.insert(0, "configuration")
    try:
        predictor = PerformancePredictor.load(model_path=model_path)
        setting = resolve_setting(
            predictor, model, model_type, hardware, sequence_length=sequence_length, batch_size=batch_size,
            precision=precision, mode=mode, metric=metric, top=top, power_constrained=power_constrained,
        )
        run_demo(predictor, setting, views, output_dir or artifacts_dir() / "demo", console)
    except (FileNotFoundError, WarehouseError, ValueError) as error:  # no models, no warehouse, unknown names
        errors.print(f"error: {error}", markup=False)
        raise typer.Exit(EXIT_UNUSABLE_INPUT) from error
