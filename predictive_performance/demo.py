"""``perfpredict demo``: what the trained models say about one model, as tables and PNG charts.

Five views, each a ``rich`` table and a chart: one configuration (every metric), a serving
prediction (an LLM under a concurrency cap: tokens/s, per-token latency, accelerator power; where
serving models exist), the model across devices, the model over batch sizes on one device, and the
hardware recommendation. Every
predicted figure is shown with its 80 % interval and its confidence, as a number and a word,
because the models extrapolate to devices nobody measured and a reader must see where they do;
devices without measurements are marked "catalog only" in every table and chart.

The views live here, not in ``cli``, so a notebook can run them with its own console.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
from rich.console import Console
from rich.table import Table
from rich.text import Text

from predictive_performance import vocabulary
from predictive_performance.charts import (
    batch_curves,
    confidence_label,
    confidence_word,
    interval_bars,
    metric_intervals,
    write_png,
)
from predictive_performance.names import is_platform
from predictive_performance.predict import PerformancePredictor
from predictive_performance.prediction.assembly import split_notes
from predictive_performance.prediction.defaults import InputSize, assumed_input, settings_line
from predictive_performance.prediction.result import figure_units
from predictive_performance.prediction.views import SERVING, serving_configurations
from predictive_performance.recommend import objective_for
from predictive_performance.reports import number

BATCH_SIZES = (1, 2, 4, 8, 16, 32, 64)

CONFIDENCE_STYLES = {"high": "green", "medium": "yellow", "low": "red", "n/a": "dim"}
CONFIDENCE_NOTE = (
    "confidence = probability that a measurement lies within ±25 % of the prediction "
    "(high ≥ 0.80, low < the threshold {threshold:.2f}); 'catalog only' devices have specs but no measurements"
)


class DemoInputError(ValueError):
    """A model or device the catalogs do not know, or a view with nothing to show; one line."""


@dataclass(frozen=True)
class Setting:
    """The configuration every view shares, in catalog names."""

    model: str
    model_type: str | None
    hardware: str
    platform: str | None  # a runtime asked for ("onnxruntime" on the CPU); None: the device's own
    size: InputSize  # sequence length and image size, and where each came from (``prediction.defaults``)
    batch_size: int
    precision: str
    mode: str
    metric: str  # the warehouse column the device views rank by
    top: int  # devices in the ranked views
    power_constrained: bool

    @property
    def sequence_length(self) -> int | None:
        return self.size.sequence_length

    @property
    def slug(self) -> str:
        return re.sub(r"[^a-z0-9]+", "-", self.model.lower()).strip("-")

    def configs(self, **columns: object) -> pd.DataFrame:
        """Configurations of this setting, one per value of the ``columns`` given as lists or arrays."""
        base = {
            "model_name": self.model,
            "model_type": self.model_type,
            "hardware_name": self.hardware,
            "hardware_platform": self.platform,
            "sequence_length": self.size.sequence_length,
            "image_size": self.size.image_size,
            "batch_size": self.batch_size,
            "precision": self.precision,
            "mode": self.mode,
        }
        return pd.DataFrame({**base, **columns})


@dataclass(frozen=True)
class View:
    tables: list[Table]
    chart: Path
    notes: list[str]


def _most_measured(catalog: pd.DataFrame, name: str) -> str:
    return str(catalog.sort_values(["measured_rows", name], ascending=[False, True]).iloc[0][name])


def _unknown(predictor: PerformancePredictor, kind: str, name: str) -> DemoInputError:
    close = ", ".join(repr(n) for n, _ in predictor.similar(kind, name))
    return DemoInputError(
        f"unknown {kind} {name!r}: not in the {kind} catalog or its aliases (closest: {close})"
    )


def resolve_setting(
    predictor: PerformancePredictor,
    model: str | None = None,
    model_type: str | None = None,
    hardware: str | None = None,
    *,
    sequence_length: int | None = None,
    image_size: int | None = None,
    batch_size: int = 1,
    precision: str = "fp32",
    mode: str = "inference",
    metric: str = "throughput",
    top: int = 12,
    power_constrained: bool = False,
) -> Setting:
    """Catalog names for what was asked, resolved as ``predict`` resolves them (``names``).

    Without a model or device, the most measured one; a platform ("cuda", "onnxruntime") stands
    for its representative device, as in ``predict``, and is kept for the single-device views.
    Without a sequence length, the one the model was measured at most, else the catalog's
    (``prediction.defaults``). Raises ``DemoInputError`` for unknown names.
    """
    platform = None
    if model is None:
        model_name = _most_measured(predictor.models, "model_name")
    elif (model_name := predictor.names.model(model)) is None:
        raise _unknown(predictor, "model", model)
    if hardware is None:
        device = _most_measured(predictor.hardware, "hardware_name")
    elif is_platform(hardware) and predictor.names.device(hardware) is None:
        resolved = predictor.resolve([{"model_name": model_name, "hardware_platform": hardware}]).iloc[0]
        device, platform = str(resolved["hardware_name"]), str(resolved["hardware_platform"])
    elif (device := predictor.names.device(hardware)) is None:
        raise _unknown(predictor, "hardware", hardware)
    try:
        column = predictor.trained_metric(metric).column
    except ValueError as error:
        raise DemoInputError(str(error)) from error
    size = assumed_input(predictor, model_name, device, sequence_length, image_size)
    return Setting(
        model_name, model_type, device, platform, size, batch_size, precision, mode, column, top, power_constrained
    )


# --- table cells ------------------------------------------------------------------------------------


def _confidence(value: float | None, threshold: float) -> Text:
    return Text(confidence_label(value, threshold), style=CONFIDENCE_STYLES[confidence_word(value, threshold)])


def _figures(row: Any, threshold: float) -> list[str | Text]:
    """prediction, 80 % interval, confidence: the three cells every predicted figure gets."""
    return [
        number(row.value),
        f"{number(row.lower)} – {number(row.upper)}",
        _confidence(row.confidence, threshold),
    ]


def _figure_columns(table: Table, value_header: str) -> None:
    table.add_column(value_header, justify="right")
    table.add_column("80 % interval", justify="right")
    table.add_column("confidence", justify="left")


def _long(predicted: pd.DataFrame, metric: str) -> pd.DataFrame:
    """One metric's prediction columns under the chart helpers' names: value, lower, upper, confidence."""
    return pd.DataFrame(
        {
            "value": predicted[f"{metric}_pred"],
            "lower": predicted[f"{metric}_lower"],
            "upper": predicted[f"{metric}_upper"],
            "confidence": predicted[f"{metric}_confidence"],
        }
    )


def _by_metric(predictor: PerformancePredictor, predicted: pd.DataFrame) -> pd.DataFrame:
    """Every trained metric's figures stacked: metric, unit, batch_size, value, lower, upper, confidence.

    Units say what the rows' latency and power cover; a metric without a model for the rows' partition is left out.
    """
    units = figure_units(predicted["latency_kind"].iloc[0], predicted["power_scope"].iloc[0])
    stacked = pd.concat(
        [
            _long(predicted, m.column).assign(metric=m.key, unit=units[m.key], batch_size=predicted["batch_size"])
            for m in predictor.trained_metrics
        ],
        ignore_index=True,
    )
    return stacked[stacked["value"].notna()].reset_index(drop=True)


def _chart_path(folder: Path, setting: Setting, view: str) -> Path:
    return folder / f"demo_{setting.slug}_{view}.png"


def _describe(setting: Setting, device: bool = True) -> str:
    runtime = f" ({setting.platform})" if setting.platform else ""
    where = f" on {setting.hardware}{runtime}" if device else ""
    length = f", sequence length {setting.sequence_length}" if setting.sequence_length else ""
    return f"{setting.model}{where}, batch size {setting.batch_size}{length}, {setting.precision} {setting.mode}"


# --- the views ---------------------------------------------------------------------------------------


def configuration_view(predictor: PerformancePredictor, setting: Setting, folder: Path) -> View:
    """Every metric of one configuration with its interval and confidence."""
    predicted = predictor.batch_predict(setting.configs(batch_size=[setting.batch_size]))
    rows, result = _by_metric(predictor, predicted), predicted.iloc[0]
    measured = "measured device" if result["hardware_measured"] else "catalog only device"
    title = f"{_describe(setting)} ({measured})"
    caption = f"Models: {result['model_version']}. Hollow point: low confidence."
    return _metrics_view(predictor, rows, result, title, caption, _chart_path(folder, setting, "configuration"))


def _metrics_view(predictor: PerformancePredictor, rows: pd.DataFrame, result: pd.Series, title: str, caption: str,
                  chart: Path) -> View:
    """One prediction's metrics as a table (figure, interval, confidence) and an interval chart."""
    table = Table(title=title)
    table.add_column("metric")
    table.add_column("unit")
    _figure_columns(table, "prediction")
    threshold = predictor.confidence_threshold
    for row in rows.itertuples(index=False):
        table.add_row(row.metric, row.unit, *_figures(row, threshold))
    figure = metric_intervals(rows, threshold=threshold, title=title, caption=caption)
    return View([table], write_png(figure, chart), split_notes(result["notes"]))


def serving_available(predictor: PerformancePredictor) -> bool:
    """Whether the throughput model has a serving partition: the serving view has something to show."""
    return not serving_configurations(predictor).empty


def serving_view(predictor: PerformancePredictor, setting: Setting, folder: Path) -> View:
    """Tokens/s, per-token latency and accelerator power of an LLM served under a concurrency cap.

    The setting's model and device where the serving rows measured them, else the first they did.
    """
    configs = serving_configurations(predictor, [setting.model], [setting.hardware])
    if configs.empty:
        raise DemoInputError("no serving model: no serving workload has been measured")
    predicted = predictor.batch_predict(configs)
    rows, result = _by_metric(predictor, predicted), predicted.iloc[0]
    title = (f"{result['model_name']} served on {result['hardware_name']}: at most {SERVING['batch_size']} "
             f"concurrent sequences, {SERVING['precision']}")
    caption = f"Serving models: throughput in output tokens/s of the system. Models: {result['model_version']}."
    return _metrics_view(predictor, rows, result, title, caption, _chart_path(folder, setting, "serving"))


def _ranked_view(
    predictor: PerformancePredictor,
    setting: Setting,
    folder: Path,
    view: str,
    bars: pd.DataFrame,
    title: str,
    unit: str,
    caption: str,
) -> View:
    """A ranked device table and its bar chart; ``bars``: label, platform, value, lower, upper, confidence, measured."""
    threshold = predictor.confidence_threshold
    table = Table(title=title)
    table.add_column("#", justify="right")
    table.add_column("device")
    table.add_column("platform")
    table.add_column("data")
    _figure_columns(table, unit)
    for rank, row in enumerate(bars.itertuples(index=False), start=1):
        data = "measured" if row.measured else "catalog only"
        table.add_row(str(rank), row.label, str(row.platform), data, *_figures(row, threshold))
    figure = interval_bars(bars, threshold=threshold, axis_label=unit, title=title, caption=caption)
    return View([table], write_png(figure, _chart_path(folder, setting, view)), [])


def hardware_view(predictor: PerformancePredictor, setting: Setting, folder: Path) -> View:
    """The model on every catalog device, ranked by the metric: the best ``top`` plus every measured device.

    Measured devices are always kept, so the ranking shows the anchors the predictions for
    catalog-only devices extrapolate from.
    """
    devices = predictor.hardware["hardware_name"].to_numpy()
    predicted = predictor.batch_predict(setting.configs(hardware_name=devices, hardware_platform=None))
    bars = _long(predicted, setting.metric).assign(
        label=predicted["hardware_name"],
        platform=predicted["hardware_platform"],
        measured=predicted["hardware_measured"],
    )
    bars = bars.sort_values(
        ["value", "label"], ascending=[not objective_for(setting.metric).higher_is_better, True], na_position="last"
    )
    keep = bars.index.isin(bars.index[: setting.top]) | bars["measured"].to_numpy()
    ranked_by = vocabulary.metric(setting.metric)
    title = f"{ranked_by.key} of {_describe(setting, device=False)}, across devices"
    caption = (
        f"The best {setting.top} of {len(bars)} catalog devices and every measured device. "
        f"Model: {predictor.versions[setting.metric].version}."
    )
    unit = f"{ranked_by.key} ({ranked_by.unit})"
    return _ranked_view(predictor, setting, folder, "hardware", bars[keep], title, unit, caption)


def recommendation_view(predictor: PerformancePredictor, setting: Setting, folder: Path) -> View:
    """``recommend_hardware``: devices the model fits on, ranked by the objective the metric asks for."""
    ranked = predictor.recommend_hardware(
        setting.model,
        metric=setting.metric,
        batch_size=setting.batch_size,
        power_constrained=setting.power_constrained,
        precision=setting.precision,
        mode=setting.mode,
        top_k=setting.top,
        sequence_length=setting.sequence_length,
        image_size=setting.size.image_size,
    )
    if ranked.empty:
        raise DemoInputError(f"no catalog device fits {_describe(setting, device=False)}")
    objective = objective_for(setting.metric, setting.power_constrained)
    bars = ranked.rename(
        columns={
            "hardware_name": "label",
            "hardware_platform": "platform",
            "score": "value",
            "score_lower": "lower",
            "score_upper": "upper",
            "hardware_measured": "measured",
        }
    )
    title = f"recommended hardware for {_describe(setting, device=False)}: {objective.description}"
    caption = f"Devices where the model does not fit in memory are left out. Models: {ranked['model_version'].iloc[0]}."
    unit = f"{objective.name.replace('_', ' ')} ({objective.unit})"
    return _ranked_view(predictor, setting, folder, "recommendation", bars, title, unit, caption)


def measurements(predictor: PerformancePredictor, setting: Setting, platform: str) -> pd.DataFrame:
    """The warehouse's mean measurement per batch size for the setting on one device, one platform.

    Only rows training uses (no outliers, nothing physically implausible) of one device running a
    static batch with per-batch latency: the predictions beside them mean the same. Rows at another sequence length (the setting's, else the catalog's reference) or image size
    than the prediction's are left out: they would not be comparable.
    """
    reference = predictor.models.set_index("model_name").loc[setting.model]
    sequence, image = (
        None if pd.isna(reference[c]) else int(reference[c])
        for c in ("reference_sequence_length", "reference_image_size")
    )
    sequence = setting.sequence_length or sequence
    image = setting.size.image_size or image
    averages = ", ".join(f"avg({m}) as {m}" for m in predictor.metrics)
    rows = predictor.warehouse.query(
        f"""select batch_size, {averages} from marts.fct_benchmark_results
            where model_name = $1 and hardware_name = $2 and hardware_platform = $7 and precision = $3 and mode = $4
              and is_training_row and workload = 'static_batch' and coalesce(latency_kind, 'batch') = 'batch'
              and coalesce(num_devices, 1) = 1
              and ($5::int is null or sequence_length is null or sequence_length = $5)
              and ($6::int is null or image_size is null or image_size = $6)
            group by batch_size""",
        [setting.model, setting.hardware, setting.precision, setting.mode, sequence, image, platform],
    )
    long = rows.melt(id_vars="batch_size", var_name="metric", value_name="value").dropna(subset=["value"])
    return long.assign(metric=long["metric"].map({m.column: m.key for m in vocabulary.metrics()}))


def batch_view(predictor: PerformancePredictor, setting: Setting, folder: Path) -> View:
    """Every metric over batch sizes on one device, beside the warehouse's measurements there."""
    predicted = predictor.batch_predict(setting.configs(batch_size=list(BATCH_SIZES)))
    curves = _by_metric(predictor, predicted)
    platform = str(predicted["hardware_platform"].iloc[0])
    measured = measurements(predictor, setting, platform)
    threshold = predictor.confidence_threshold
    tables = []
    for metric in predictor.trained_metrics:
        key = metric.key
        table = Table(title=f"{key} ({metric.unit}) of {setting.model} on {setting.hardware} by batch size")
        table.add_column("batch", justify="right")
        _figure_columns(table, "prediction")
        table.add_column("measured", justify="right")
        seen = measured[measured["metric"] == key].set_index("batch_size")["value"]
        for row in curves[curves["metric"] == key].itertuples(index=False):
            table.add_row(str(row.batch_size), *_figures(row, threshold), number(seen.get(row.batch_size)))
        tables.append(table)
    length = f", sequence length {setting.sequence_length}" if setting.sequence_length else ""
    title = (
        f"{setting.model} on {setting.hardware} ({platform}){length}, {setting.precision} {setting.mode}, by batch size"
    )
    figure = batch_curves(
        curves,
        measured,
        threshold=threshold,
        units={m.key: m.unit for m in predictor.trained_metrics},
        title=title,
        caption=f"Crosses: the warehouse's measurements (mean per batch size). Models: {predictor.model_version}.",
    )
    notes = [] if len(measured) else [f"no measurements of this configuration in {predictor.warehouse.path}"]
    return View(tables, write_png(figure, _chart_path(folder, setting, "batch_sizes")), notes)


ViewBuilder = Callable[[PerformancePredictor, Setting, Path], View]
VIEWS: dict[str, tuple[str, ViewBuilder]] = {  # name: (heading, builder), in the order --all shows them
    "configuration": ("one configuration", configuration_view),
    "serving": ("serving an LLM", serving_view),
    "hardware": ("across devices", hardware_view),
    "batch_sizes": ("over batch sizes", batch_view),
    "recommendation": ("hardware recommendation", recommendation_view),
}


def run_demo(
    predictor: PerformancePredictor, setting: Setting, views: Sequence[str], folder: Path, console: Console
) -> list[Path]:
    """Print the settings assumed, then each view's tables, notes and chart path; returns the charts written."""
    subject = f"{setting.model} on {setting.hardware}" + (f" ({setting.platform})" if setting.platform else "")
    console.print(
        settings_line(setting.batch_size, setting.size, setting.precision, setting.mode, subject), markup=False
    )
    charts = []
    for name in views:
        heading, build = VIEWS[name]
        view = build(predictor, setting, folder)
        console.rule(Text(heading))
        for table in view.tables:
            console.print(table)
        for note in view.notes:
            console.print(f"note: {note}", markup=False)
        console.print(f"chart: {view.chart}", markup=False)
        charts.append(view.chart)
    console.print(CONFIDENCE_NOTE.format(threshold=predictor.confidence_threshold), markup=False)
    console.print(f"model versions: {predictor.model_version}", markup=False)
    return charts
