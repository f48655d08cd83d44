"""Commands that read the trained models: predict, recommend, evaluate, demo.

Each reads the warehouse and the saved models only; the model libraries load inside the command.
Every error a user can cause (a bad file, cell or option, a missing or corrupt model version, a
locked warehouse, an output that cannot be written) is one line on stderr and exit status 2.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, NoReturn

import typer
from rich.table import Table

from predictive_performance import vocabulary
from predictive_performance.cli.app import EXIT_NO_MODELS, EXIT_UNUSABLE_INPUT, app, console, errors
from predictive_performance.warehouse import Warehouse, WarehouseError

# What a user can cause: bad names, cells and options (ValueError, which includes a corrupt model
# version's ModelArtifactError), an unusable or locked warehouse, a file that cannot be read or written.
USER_ERRORS = (ValueError, WarehouseError, OSError)


def _fail(error: BaseException | str, where: Path | None = None) -> NoReturn:
    """One line on stderr, naming the file where there is one, and exit status 2."""
    errors.print(f"error: {f'{where}: ' if where else ''}{error}", markup=False)
    raise typer.Exit(EXIT_UNUSABLE_INPUT)


def _check_counts(**options: int | None) -> None:
    """Refuse a count option below 1 (``--top 0`` would otherwise mean "all")."""
    for name, value in options.items():
        if value is not None and value < 1:
            _fail(f"--{name.replace('_', '-')} must be a positive whole number, got {value}")


def _predictor(model_path: Path | None, confidence_threshold: float = 0.5, fallback_to_similar: bool = False):
    """The saved models, every file checked now (a missing or corrupt version fails here, in one line)."""
    from predictive_performance.predict import PerformancePredictor  # the model libraries load only here

    try:
        predictor = PerformancePredictor.load(
            model_path=model_path, confidence_threshold=confidence_threshold, fallback_to_similar=fallback_to_similar
        )
        for version in predictor.versions.values():
            version.model  # reads and checks the version's files
    except USER_ERRORS as error:
        _fail(error)
    return predictor


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
        _fail(f"unsupported output type {output_path.suffix!r}; use .csv, .parquet or .json", output_path)
    if output_path.resolve() == input_path.resolve():
        _fail("--output is the input file; write the predictions elsewhere", output_path)
    try:
        configs = read_configurations(input_path)
    except (UnreadableFileError, ValueError, OSError) as error:
        _fail(error)
    predictor = _predictor(model_path, confidence_threshold, fallback_to_similar)
    try:
        predictions = predictor.batch_predict(configs)
    except ValueError as error:  # unknown names (UnknownEntityError), precisions, modes, platforms
        _fail(error, input_path)
    predictions.insert(0, "input_row", configs["input_row"].to_numpy())
    _write(predictions, output_path, kind)
    low = ", ".join(
        f"{m.key} {int(predictions[m.figure('low_confidence')].fillna(False).astype(bool).sum())}"
        for m in predictor.trained_metrics
    )
    console.print(
        f"predicted {len(predictions)} configuration(s) -> {output_path}\n"
        f"  metrics: {', '.join(predictor.metrics)}; low confidence (< {confidence_threshold:.2f}): {low}\n"
        f"  on devices without measurements: {int((~predictions['hardware_measured']).sum())}; "
        f"fallbacks used: {int(predictions['fallback'].notna().sum())}\n"
        f"  model versions: {predictor.model_version}",
        markup=False,
    )


def _write(predictions, output_path: Path, kind: str) -> None:
    """Write the predictions in the format of the output's suffix; a path that cannot be written exits 2."""
    try:
        output_path.parent.mkdir(parents=True, exist_ok=True)
        if kind == "csv":
            predictions.to_csv(output_path, index=False)
        elif kind == "parquet":
            predictions.to_parquet(output_path, index=False)
        else:
            predictions.to_json(output_path, orient="records", indent=2)
    except OSError as error:
        _fail(f"cannot write the predictions: {error.strerror or error}", output_path)


SEQUENCE_HELP = "Input length (default: the one the model was measured at most, else the catalog's reference)."
POWER_NOTE = (
    "power: measured = a power model anchored by the device's own power rows; modelled = a power model, the device "
    "never measured for power; catalog TDP = no power model, the rated figure (ranked after the others)"
)


@app.command()
def recommend(
    model: Annotated[str, typer.Argument(help="Model name (catalog name or alias).")],
    metric: Annotated[
        str, typer.Option(help="throughput (highest), latency (lowest) or memory (lowest).")
    ] = "throughput",
    batch_size: Annotated[int, typer.Option()] = 1,
    power_constrained: Annotated[
        bool, typer.Option(help="Rank by throughput per watt (energy per batch for latency).")
    ] = False,
    sequence_length: Annotated[int | None, typer.Option(help=SEQUENCE_HELP)] = None,
    image_size: Annotated[int | None, typer.Option(help="Image size (default: the catalog's reference).")] = None,
    precision: Annotated[str, typer.Option()] = "fp32",
    mode: Annotated[str, typer.Option()] = "inference",
    platform: Annotated[list[str] | None, typer.Option(help="Only devices of these platforms (repeatable).")] = None,
    top: Annotated[int, typer.Option(help="How many devices to show (at least 1).")] = 10,
    measured_only: Annotated[bool, typer.Option(help="Only devices with measurements.")] = False,
    model_path: Annotated[Path | None, typer.Option(help="Artifacts directory of the models.")] = None,
) -> None:
    """Rank hardware for a model by predicted performance, with intervals and confidence."""
    from predictive_performance.prediction.defaults import assumed_input, settings_line

    _check_counts(batch_size=batch_size, top=top, sequence_length=sequence_length, image_size=image_size)
    predictor = _predictor(model_path)
    try:
        size = assumed_input(predictor, model, None, sequence_length, image_size)
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
            sequence_length=size.sequence_length,
            image_size=size.image_size,
        )
    except USER_ERRORS as error:
        _fail(error)
    console.print(settings_line(batch_size, size, precision, mode), markup=False)
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
        table.add_column("power")
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
            cells += [_figure(row.watts), str(row.watts_source or "unknown")]
        table.add_row(*cells)
    console.print(table)
    if power_constrained:
        console.print(POWER_NOTE, markup=False)
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
    by: Annotated[
        str | None, typer.Option(help="Also break down by hardware_platform, model_type or source.")
    ] = None,
    anchors: Annotated[
        bool,
        typer.Option(
            "--anchors",
            help="Refit the current settings with each device of NeuSight's, pytorch-gpu-benchmark's and ML.ENERGY's "
            "rows left out in turn (a few minutes), beside a plain roofline and the published figures.",
        ),
    ] = False,
) -> None:
    """Held-out accuracy of the current models per partition and split, next to the physics baseline."""
    from predictive_performance.modeling import evaluation_table
    from predictive_performance.modeling.evaluation import STRATA

    if anchors:
        _print_anchors(_predictor(None))
        return
    try:
        column = vocabulary.metric(metric).column if metric else None
    except ValueError as error:
        _fail(error)
    if by is not None and by not in STRATA:
        _fail(f"unknown --by {by!r}; expected one of {', '.join(STRATA)}")
    warehouse = Warehouse.from_env()
    try:
        table = evaluation_table(warehouse, column)
        if not table.empty:
            _check_versions(warehouse, set(table["model_version"]))
    except USER_ERRORS as error:
        _fail(error)
    if table.empty:
        errors.print(f"no evaluation in {warehouse.path} (ml.evaluation): run `perfpredict run` first", markup=False)
        raise typer.Exit(EXIT_NO_MODELS)
    strata = ["all"] + ([by] if by else [])
    table = table[table["stratum"].isin(strata)]
    # a version saved before partitions has the one partition "all"
    table = table.assign(partition=table["partition"].fillna("all") if "partition" in table else "all")
    for (metric_name, partition, split), rows in table.groupby(["metric", "partition", "split"], sort=False):
        name = f"{metric_name} / {split}, {partition}"
        if not (rows["n_rows"].fillna(0) > 0).any():
            note = next((n for n in rows["note"].dropna() if n), "no rows to hold out")
            console.print(f"{name}: not evaluated ({note})", markup=False)
            continue
        console.print(_evaluation_table(name, rows, by))
    console.print(
        "Judge by the grouped splits (leave_one_hardware_out, leave_one_model_out); random_kfold is optimistic."
    )


EVALUATION_FIGURES = (
    ("n_rows", "rows"), ("mape", "MAPE"), ("median_ape", "median APE"), ("within_10", "±10%"), ("within_25", "±25%"),
    ("r2_log", "R² log"), ("spearman", "Spearman"), ("coverage", "coverage"),
)


def _evaluation_table(name: str, rows, by: str | None) -> Table:
    """One split of one partition: a row per method (and stratum value with ``--by``)."""
    import math

    nominal = rows["nominal_coverage"].dropna()
    title = name + (f" (nominal coverage {nominal.iloc[0]:.0%})" if len(nominal) else "")
    out = Table(title=title, caption=rows["model_version"].iloc[0])
    out.add_column("method")
    if by:
        out.add_column(by)
    for _, label in EVALUATION_FIGURES:
        out.add_column(label, justify="right")
    for row in rows.sort_values(["stratum", "stratum_value", "method"], ascending=[True, True, False]).itertuples():
        cells = [row.method] + ([str(row.stratum_value)] if by else [])
        for column, _ in EVALUATION_FIGURES:
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
    return out


def _print_anchors(predictor) -> None:
    """``modeling.anchors`` on the warehouse's training rows with the current versions' tuned settings."""
    from predictive_performance.modeling import load_training_frame
    from predictive_performance.modeling.anchors import evaluate_anchors

    try:
        frame = load_training_frame(predictor.warehouse)
    except USER_ERRORS as error:
        _fail(error)
    table = evaluate_anchors(frame, {metric: v.model.settings for metric, v in predictor.versions.items()})
    if table.empty:
        errors.print("no anchor has a trained model for its rows", markup=False)
        raise typer.Exit(EXIT_NO_MODELS)
    for name, rows in table.groupby("anchor", sort=False):
        out = Table(title=f"{name}: each device left out in turn", caption=rows["published"].iloc[0])
        for label in ("held out", "method", "rows", "MAPE", "median APE", "±25%", "coverage", "width"):
            out.add_column(label, justify="left" if label in ("held out", "method") else "right")
        for row in rows.itertuples():
            out.add_row(
                row.held_out, row.method, str(int(row.n_rows)), *(_share(v) for v in (row.mape, row.median_ape)),
                _share(row.within_25), _share(row.coverage), _figure(row.median_interval_ratio),
            )
        console.print(out)


def _share(value: float) -> str:
    return "–" if value != value else f"{value:.1%}"


def _check_versions(warehouse: Warehouse, versions: set[str]) -> None:
    """Raise for an evaluated version whose files are gone or corrupt where the registry says they are:
    its figures would describe a model that cannot predict."""
    from predictive_performance.modeling import load_version

    registered = warehouse.query("select model_version, artifact_path from ml.model_registry")
    for row in registered[registered["model_version"].isin(versions)].itertuples(index=False):
        load_version(row.model_version, Path(row.artifact_path).parents[1]).model


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
    batch_size: Annotated[int, typer.Option()] = 1,
    sequence_length: Annotated[int | None, typer.Option(help=SEQUENCE_HELP)] = None,
    image_size: Annotated[int | None, typer.Option(help="Image size (default: the catalog's reference).")] = None,
    precision: Annotated[str, typer.Option()] = "fp32",
    mode: Annotated[str, typer.Option()] = "inference",
    metric: Annotated[
        str, typer.Option(help="What the device views rank by: throughput, latency or memory.")
    ] = "throughput",
    power_constrained: Annotated[bool, typer.Option(help="Recommend by throughput per watt.")] = False,
    top: Annotated[int, typer.Option(help="Devices in the ranked views (at least 1).")] = 12,
    output_dir: Annotated[
        Path | None, typer.Option(help="Where the charts go (default $PERFPREDICT_ARTIFACTS/demo).")
    ] = None,
    model_path: Annotated[Path | None, typer.Option(help="Artifacts directory of the models.")] = None,
) -> None:
    """Tables and PNG charts of a model's predictions, each figure with its 80 % interval and confidence.

    Without a view option, one configuration (and a serving prediction where serving models exist);
    --all shows every view.
    """
    from predictive_performance.demo import resolve_setting, run_demo, serving_available
    from predictive_performance.settings import artifacts_dir

    _check_counts(batch_size=batch_size, top=top, sequence_length=sequence_length, image_size=image_size)

    chosen = {"hardware": compare_hardware, "batch_sizes": batch_comparison, "recommendation": recommend_view}
    views = [name for name, wanted in chosen.items() if wanted or all_views]
    if all_views or not views:
        views.insert(0, "configuration")
    predictor = _predictor(model_path)
    if "configuration" in views and serving_available(predictor):
        views.insert(1, "serving")
    try:
        setting = resolve_setting(
            predictor, model, model_type, hardware, sequence_length=sequence_length, image_size=image_size,
            batch_size=batch_size, precision=precision, mode=mode, metric=metric, top=top,
            power_constrained=power_constrained,
        )
        run_demo(predictor, setting, views, output_dir or artifacts_dir() / "demo", console)
    except USER_ERRORS as error:  # unknown names, a chart folder that cannot be written
        _fail(error)
