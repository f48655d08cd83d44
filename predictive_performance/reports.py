"""Charts and reports of predictions: a heatmap PNG and a self-contained comparison report.

Matplotlib is used through its object API on the Agg canvas (``Figure`` + ``FigureCanvasAgg``),
never ``pyplot``: no global figure state, no GUI backend, safe in Dagster workers and threads.

Confidence is always visible, because a prediction for an unmeasured device is a different thing
from one next to measurements: heatmap cells print their confidence and cells under the
threshold are faded and hatched; report tables print the 80 % interval and the confidence of
every figure, and bars of low-confidence predictions are hatched.
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
from matplotlib.colors import LogNorm, Normalize
from matplotlib.figure import Figure
from matplotlib.patches import Patch, Rectangle

from predictive_performance import vocabulary
from predictive_performance.report_html import html_page, html_table, inline_image, png_bytes

if TYPE_CHECKING:
    from predictive_performance.report_data import ReportData

LOW_CONFIDENCE_HATCH = "///"


def number(value: float | None, compact: bool = False) -> str:
    """A predicted figure as people read it: thousands separated, three significant digits under 100.

    ``compact``: scientific notation outside 0.01-100,000, for cells that must stay narrow (heatmaps,
    where Lambda throughputs reach 10^10 items/s).
    """
    if value is None or not np.isfinite(value):
        return "n/a"
    if compact and (abs(value) >= 1e5 or abs(value) < 1e-2):
        return f"{value:.2e}"
    return f"{value:,.0f}" if abs(value) >= 100 else f"{value:.3g}"


_compact = partial(number, compact=True)


def _known_metric(name: str) -> vocabulary.Metric | None:
    """The vocabulary's metric called ``name``, or None for a frame of some other value."""
    try:
        return vocabulary.metric(name)
    except ValueError:
        return None


def _confidence_text(confidence: pd.Series) -> pd.Series:
    return confidence.map(lambda c: f"{c:.2f}" if np.isfinite(c) else "n/a")


# --- heatmap ---------------------------------------------------------------------------------------


def heatmap_figure(matrix: pd.DataFrame, confidence_threshold: float = 0.5, title: str | None = None) -> Figure:
    """Rows: hardware; columns: batch sizes; colour: predicted value (log scale); text: value and confidence."""
    if matrix.empty:
        raise ValueError("the prediction matrix is empty")
    label = "hardware" if "hardware" in matrix.columns else "hardware_name"
    rows = list(dict.fromkeys(matrix[label]))
    values = matrix.pivot_table(index=label, columns="batch_size", values="value", aggfunc="first").reindex(rows)
    confidence = matrix.pivot_table(index=label, columns="batch_size", values="confidence", aggfunc="first").reindex(
        rows
    )
    metric = str(matrix["metric"].iloc[0]) if "metric" in matrix.columns else "value"
    known = _known_metric(metric)
    unit = known.unit if known is not None else ""
    data = values.to_numpy(dtype=float)
    finite = data[np.isfinite(data) & (data > 0)]

    figure = Figure(figsize=(1.3 * data.shape[1] + 4.5, 0.55 * data.shape[0] + 2.2))
    axes = figure.add_subplot()
    if len(finite) and finite.max() / finite.min() > 20:
        norm = LogNorm(vmin=finite.min(), vmax=finite.max())
    else:
        norm = Normalize(vmin=finite.min() if len(finite) else 0, vmax=finite.max() if len(finite) else 1)
    cmap = "viridis" if known is None or known.higher_is_better else "viridis_r"  # bright = better
    image = axes.imshow(np.ma.masked_invalid(data), cmap=cmap, norm=norm, aspect="auto")
    colorbar = figure.colorbar(image, ax=axes)
    colorbar.set_label(f"predicted {metric} ({unit})" if unit else f"predicted {metric}")

    low_any = _annotate_cells(axes, image, data, confidence.to_numpy(dtype=float), confidence_threshold)
    axes.set_xticks(range(data.shape[1]), [str(c) for c in values.columns])
    axes.set_yticks(range(data.shape[0]), rows)
    axes.set_xlabel("batch size")
    model = matrix["model_name"].iloc[0] if "model_name" in matrix.columns else ""
    setting = " ".join(str(matrix[c].iloc[0]) for c in ("precision", "mode") if c in matrix.columns)
    axes.set_title(title or f"{model}: predicted {metric} ({setting})")
    caption = "confidence = probability that the measurement is within ±25 % of the prediction"
    if low_any:
        caption = f"faded, hatched cells: confidence < {confidence_threshold:.2f}.  " + caption
    # in points below the axes, so it clears the x label whatever the figure's height
    axes.annotate(
        caption,
        xy=(0.0, 0.0),
        xycoords="axes fraction",
        xytext=(0, -42),
        textcoords="offset points",
        fontsize=7.5,
        color="dimgrey",
        ha="left",
        va="top",
    )
    return figure


def _annotate_cells(axes, image, data: np.ndarray, confidence: np.ndarray, threshold: float) -> bool:
    """Print value and confidence in each cell; fade and hatch those under ``threshold``. Any such cell?"""
    low_any = False
    for i in range(data.shape[0]):
        for j in range(data.shape[1]):
            value, conf = data[i, j], confidence[i, j]
            if not np.isfinite(value):
                axes.text(j, i, "n/a", ha="center", va="center", fontsize=8, color="grey")
                continue
            low = not (conf >= threshold)
            low_any |= low
            if low:  # fade and hatch: the number is a guess far from the measurements
                axes.add_patch(Rectangle((j - 0.5, i - 0.5), 1, 1, facecolor="white", alpha=0.45, edgecolor="none"))
                axes.add_patch(
                    Rectangle((j - 0.5, i - 0.5), 1, 1, fill=False, hatch=LOW_CONFIDENCE_HATCH, edgecolor="grey", lw=0)
                )
            rgba = image.cmap(image.norm(value))
            luminance = 0.299 * rgba[0] + 0.587 * rgba[1] + 0.114 * rgba[2]
            color = "black" if low or luminance > 0.55 else "white"
            conf_text = f"conf {conf:.2f}" if np.isfinite(conf) else "conf n/a"
            axes.text(
                j,
                i,
                f"{_compact(value)}\n{conf_text}",
                ha="center",
                va="center",
                fontsize=8,
                color=color,
                fontweight="normal" if low else "bold",
            )
    return low_any


def prediction_heatmap(
    matrix: pd.DataFrame, output_path: str | Path, confidence_threshold: float = 0.5, title: str | None = None
) -> Path:
    """Write the heatmap of a prediction matrix (``PerformancePredictor.generate_prediction_matrix``) as PNG."""
    path = Path(output_path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(png_bytes(heatmap_figure(matrix, confidence_threshold, title)))
    return path


# --- comparison report --------------------------------------------------------------------------------


def comparison_chart(predictions: pd.DataFrame, metric: str, confidence_threshold: float = 0.5) -> Figure:
    """Bars per hardware (x) and model (colour), one panel per batch size; error bars are the 80 % intervals."""
    m = vocabulary.metric(metric)
    batches = sorted(predictions["batch_size"].unique())
    models = list(dict.fromkeys(predictions["model_name"]))
    devices = list(dict.fromkeys(predictions["hardware_name"]))
    figure = Figure(figsize=(max(6.0, 0.55 * len(devices) * max(1, len(models)) / 1.5 + 2), 3.2 * len(batches)))
    width = 0.8 / max(1, len(models))
    colours = [f"C{i % 10}" for i in range(len(models))]
    for panel, batch in enumerate(batches, start=1):
        axes = figure.add_subplot(len(batches), 1, panel)
        rows = predictions[predictions["batch_size"] == batch]
        for k, model in enumerate(models):
            part = rows[rows["model_name"] == model].set_index("hardware_name").reindex(devices)
            pred, lower, upper, conf = (part[column].to_numpy(dtype=float) for column in m.figures)
            x = np.arange(len(devices)) + (k - (len(models) - 1) / 2) * width
            bars = axes.bar(x, np.nan_to_num(pred), width, color=colours[k], label=model)
            for bar, c in zip(bars, conf, strict=True):
                if not (c >= confidence_threshold):
                    bar.set_hatch(LOW_CONFIDENCE_HATCH)
                    bar.set_alpha(0.55)
            error = np.vstack([np.clip(pred - lower, 0, None), np.clip(upper - pred, 0, None)])
            axes.errorbar(x, pred, yerr=np.nan_to_num(error), fmt="none", ecolor="black", elinewidth=0.8, capsize=2)
        axes.set_yscale("log")
        axes.set_ylabel(f"{m.column} ({m.unit})", fontsize=8)
        axes.set_title(f"batch size {batch}", fontsize=9)
        axes.set_xticks(range(len(devices)), devices, rotation=30, ha="right", fontsize=7)
        if panel == 1:
            handles = axes.get_legend_handles_labels()[0] + [
                Patch(
                    facecolor="white",
                    edgecolor="black",
                    hatch=LOW_CONFIDENCE_HATCH,
                    label=f"confidence < {confidence_threshold:.2f}",
                )
            ]
            axes.legend(handles=handles, fontsize=7, loc="best")
    figure.tight_layout()
    return figure


def comparison_table(predictions: pd.DataFrame, metric: str, confidence_threshold: float = 0.5) -> pd.DataFrame:
    """One row per model x hardware x batch size: prediction, 80 % interval, confidence, measured or not."""
    pred, lower, upper, confidence = (predictions[column] for column in vocabulary.metric(metric).figures)
    table = pd.DataFrame(
        {
            "model": predictions["model_name"],
            "hardware": predictions["hardware_name"],
            "batch size": predictions["batch_size"],
            "precision": predictions["precision"],
            "mode": predictions["mode"],
            "prediction": pred.map(_compact),
            "80% interval": [f"{_compact(lo)} – {_compact(hi)}" for lo, hi in zip(lower, upper, strict=True)],
            "confidence": _confidence_text(confidence),
            "low confidence": ~(confidence >= confidence_threshold),
            "device measured": predictions.get("hardware_measured", pd.Series(np.nan, index=predictions.index)),
        }
    )
    return table.reset_index(drop=True)


def best_per_model(predictions: pd.DataFrame, metric: str) -> pd.DataFrame:
    """The best device per model and batch size (highest or lowest prediction, as the metric is judged)."""
    m = vocabulary.metric(metric)
    ordered = predictions.sort_values(m.figure("pred"), ascending=not m.higher_is_better, na_position="last")
    best = ordered.drop_duplicates(["model_name", "batch_size"]).sort_values(["model_name", "batch_size"])
    return pd.DataFrame(
        {
            "model": best["model_name"],
            "batch size": best["batch_size"],
            "best hardware": best["hardware_name"],
            "prediction": best[m.figure("pred")].map(_compact),
            "confidence": _confidence_text(best[m.figure("confidence")]),
        }
    ).reset_index(drop=True)


def markdown_table(table: pd.DataFrame) -> str:
    """A GitHub-style markdown table (what Dagster's metadata view renders)."""
    head = "| " + " | ".join(map(str, table.columns)) + " |"
    rule = "|" + "|".join("---" for _ in table.columns) + "|"
    body = ["| " + " | ".join(str(v).replace("|", "\\|") for v in row) + " |" for row in table.itertuples(index=False)]
    return "\n".join([head, rule, *body])


def comparison_report(
    predictions: pd.DataFrame,
    metrics: Sequence[str],
    output_format: str = "html",
    output_path: str | Path | None = None,
    confidence_threshold: float = 0.5,
    model_versions: dict[str, str] | None = None,
    notes: Sequence[str] = (),
    title: str = "Predicted performance: model comparison",
) -> str:
    """Render ``PerformancePredictor.batch_predict`` rows as a report; write it if ``output_path`` is given.

    ``html``: one self-contained file (inline CSS, charts as base64 PNG, no scripts or links);
    ``markdown``: the same tables; ``csv`` / ``json``: the rows themselves. Returns the path
    written (as a string) or, without a path, the content.
    """
    fmt = output_format.lower()
    if fmt not in ("html", "markdown", "md", "csv", "json"):
        raise ValueError(f"unknown output_format {output_format!r}; expected html, markdown, csv or json")
    if not metrics:
        raise ValueError("no metric to report: none of those asked for has a trained model")
    keep = [c for c in predictions.columns if not c.endswith("_low_confidence")]
    if fmt == "csv":
        content = predictions[keep].to_csv(index=False)
    elif fmt == "json":
        content = predictions[keep].to_json(orient="records", indent=2)
    else:
        columns = [vocabulary.metric(m).column for m in metrics]
        content = _document(predictions, columns, fmt, confidence_threshold, model_versions or {}, notes, title)
    if output_path is None:
        return content
    path = Path(output_path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(content, encoding="utf-8")
    return str(path)


def _document(predictions, metrics, fmt, threshold, versions, notes, title) -> str:
    created = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    models = ", ".join(dict.fromkeys(predictions["model_name"]))
    intro = (
        f"Models: {models}. Devices: {predictions['hardware_name'].nunique()}. Generated {created}. "
        "Intervals are calibrated 80 % prediction intervals; confidence is the estimated probability that a "
        f"measurement lies within ±25 % of the prediction. Rows under {threshold:.2f} are marked low confidence "
        "(usually devices or models without measurements, predicted from their catalog specs)."
    )
    version_lines = [f"{metric}: {version}" for metric, version in versions.items()]
    if fmt in ("markdown", "md"):
        parts = [f"# {title}", "", intro, ""]
        parts += [f"- {n}" for n in notes] + ([""] if notes else [])
        for metric in metrics:
            parts += [
                f"## {metric} ({vocabulary.metric(metric).unit})",
                "",
                "Best device per model:",
                "",
                markdown_table(best_per_model(predictions, metric)),
                "",
                markdown_table(comparison_table(predictions, metric, threshold)),
                "",
            ]
        parts += ["## Model versions", ""] + [f"- {line}" for line in version_lines]
        return "\n".join(parts) + "\n"
    body = [f"<p class='note'>{html.escape(intro)}</p>"]
    if notes:
        body.append("<ul>" + "".join(f"<li>{html.escape(n)}</li>" for n in notes) + "</ul>")
    for metric in metrics:
        table = comparison_table(predictions, metric, threshold)
        body += [
            f"<h2>{html.escape(metric)} ({html.escape(vocabulary.metric(metric).unit)})</h2>",
            inline_image(comparison_chart(predictions, metric, threshold), f"{metric} by hardware and model"),
            "<h3>Best device per model</h3>",
            html_table(best_per_model(predictions, metric)),
            "<h3>All predictions</h3>",
            html_table(table.drop(columns="low confidence"), table["low confidence"]),
        ]
    body.append("<h2>Model versions</h2><ul>" + "".join(f"<li>{html.escape(v)}</li>" for v in version_lines) + "</ul>")
    return html_page(title, body, {"metrics": metrics, "model_versions": versions})


# --- pipeline report ---------------------------------------------------------------------------------

PIPELINE_SECTIONS = (
    "Prediction matrix", "Serving", "Held-out evaluation", "Coverage", "Active-learning queue", "Model versions",
)
EVALUATION_FIGURES = {
    "n_rows": "rows",
    "mape": "MAPE",
    "median_ape": "median APE",
    "within_10": "within ±10 %",
    "within_25": "within ±25 %",
    "r2_log": "R² (log)",
    "spearman": "Spearman",
    "coverage": "80 % interval coverage",
}
QUEUE_COLUMNS = ["rank", "model_name", "hardware_name", "batch_size", "precision", "mode", "uncertainty", "diversity",
                 "expected_model_change", "expected_information_gain"]
BATCH_COLUMNS = ["selection_order", "model_name", "hardware_name", "batch_size", "precision", "mode",
                 "expected_information_gain", "adjusted_gain"]


def _percent(value: float) -> str:
    return "–" if value is None or not np.isfinite(value) else f"{value:.1%}"


def _display(frame: pd.DataFrame, columns: Sequence[str]) -> pd.DataFrame:
    """The columns present, floats rounded for reading; spaced names, so headers wrap instead of widening the page."""
    shown = frame[[c for c in columns if c in frame.columns]].copy()
    for column in shown.select_dtypes("float").columns:
        shown[column] = shown[column].map(_compact)
    return shown.rename(columns=lambda c: c.replace("_", " "))


def predicted_metrics(rows: pd.DataFrame) -> list[str]:
    """The metrics with at least one prediction in ``prediction_matrix`` rows (those with a trained model)."""
    predicted = [m for m in vocabulary.metrics() if m.figure("pred") in rows.columns]
    return [m.column for m in predicted if rows[m.figure("pred")].notna().any()]


def setting_label(rows: pd.DataFrame) -> str:
    """``model, precision mode`` of ``prediction_matrix`` rows of one setting (item access: ``mode`` is a method)."""
    first = rows.iloc[0]
    return f"{first['model_name']}, {first['precision']} {first['mode']}"


def heatmap_frame(rows: pd.DataFrame, metric: str) -> pd.DataFrame:
    """``prediction_matrix`` rows of one setting as ``heatmap_figure`` input; measured devices say so."""
    m = vocabulary.metric(metric)
    measured = rows.get("hardware_measured", pd.Series(False, index=rows.index)).fillna(False).astype(bool)
    return pd.DataFrame(
        {
            "hardware": rows["hardware_name"].where(~measured, rows["hardware_name"] + " (measured)"),
            "batch_size": rows["batch_size"],
            "value": rows[m.figure("pred")],
            "confidence": rows[m.figure("confidence")],
            "metric": m.column,
            "model_name": rows["model_name"],
            "precision": rows["precision"],
            "mode": rows["mode"],
        }
    )


def matrix_markdown(rows: pd.DataFrame, metric: str) -> str:
    """Hardware x batch size of one setting as a markdown table, each cell ``value (confidence)``."""
    frame = heatmap_frame(rows, metric)
    frame["cell"] = [
        f"{_compact(v)} ({c:.2f})" if np.isfinite(c) else _compact(v)
        for v, c in zip(frame["value"], frame["confidence"], strict=True)
    ]
    table = frame.pivot_table(index="hardware", columns="batch_size", values="cell", aggfunc="first", sort=False)
    table.columns = [f"batch {c}" for c in table.columns]
    return markdown_table(table.reset_index())


def evaluation_summary(evaluation: pd.DataFrame) -> pd.DataFrame:
    """One row per metric, partition and split: the model's held-out figures over all of the partition's rows,
    next to the baseline's MAPE (a version saved before partitions has the one partition ``all``)."""
    columns = ["metric", "partition", "split", *EVALUATION_FIGURES.values(), "baseline MAPE"]
    if evaluation.empty:
        return pd.DataFrame(columns=columns)
    overall = evaluation[evaluation["stratum"] == "all"]
    if "partition" in overall.columns:
        overall = overall.assign(partition=overall["partition"].fillna("all"))
    else:
        overall = overall.assign(partition="all")
    keys = ["metric", "partition", "split"]
    model = overall[overall["method"] == "model"].set_index(keys)
    baseline = overall[overall["method"] == "baseline"].set_index(keys)["mape"]
    table = pd.DataFrame(index=model.index)
    for column, label in EVALUATION_FIGURES.items():
        values = model[column].astype(float)
        if column == "n_rows":
            table[label] = values.fillna(0).astype(int)
        elif column in ("r2_log", "spearman"):
            table[label] = values.map(lambda v: f"{v:.3f}" if np.isfinite(v) else "–")
        else:
            table[label] = values.map(_percent)
    table["baseline MAPE"] = baseline.reindex(model.index).astype(float).map(_percent)
    return table.reset_index()[columns]


def coverage_summary(coverage: pd.DataFrame) -> pd.DataFrame:
    """Per hardware platform: devices and model x device cells with any measurement, and configurations tested."""
    cells = coverage.assign(measured=coverage["tested"] > 0)
    devices = cells.groupby(["hardware_platform", "hardware_name"])["measured"].any()
    per_platform = cells.groupby("hardware_platform").agg(
        cells=("measured", "size"), measured_cells=("measured", "sum"), tested=("tested", "sum"),
        configurations=("configurations", "sum"),
    )
    per_platform["devices"] = devices.groupby(level=0).size()
    per_platform["measured devices"] = devices.groupby(level=0).sum()
    per_platform["model x device cells measured"] = [
        f"{m:,} of {n:,}" for m, n in zip(per_platform["measured_cells"], per_platform["cells"], strict=True)
    ]
    per_platform["configurations tested"] = [
        f"{t:,} of {n:,} ({t / n:.2%})" for t, n in zip(per_platform["tested"], per_platform["configurations"], strict=True)
    ]
    columns = ["devices", "measured devices", "model x device cells measured", "configurations tested"]
    return per_platform[columns].reset_index().rename(columns={"hardware_platform": "platform"})


def coverage_figure(coverage: pd.DataFrame) -> Figure:
    """Models (rows) x devices (columns, grouped by platform): measured configurations; grey cells were never measured."""
    devices = coverage.drop_duplicates("hardware_name").sort_values(["hardware_platform", "hardware_name"])
    grid = coverage.pivot_table(index="model_name", columns="hardware_name", values="tested", aggfunc="sum", fill_value=0)
    data = grid.reindex(columns=devices["hardware_name"], fill_value=0).to_numpy(dtype=float)
    figure = Figure(figsize=(max(6.0, 0.15 * data.shape[1] + 3), max(3.0, 0.19 * data.shape[0] + 3.2)))
    axes = figure.add_subplot()
    axes.set_facecolor("#e6e6e6")
    image = axes.imshow(
        np.ma.masked_less_equal(data, 0), cmap="viridis", norm=LogNorm(vmin=1, vmax=max(2.0, data.max())),
        aspect="auto", interpolation="nearest",
    )
    figure.colorbar(image, ax=axes, fraction=0.025, pad=0.01).set_label("measured configurations")
    axes.set_xticks(range(data.shape[1]), devices["hardware_name"], rotation=90, fontsize=5.5)
    axes.set_yticks(range(data.shape[0]), grid.index, fontsize=6.5)
    platforms = devices["hardware_platform"].to_numpy()
    starts = [0, *[i for i in range(1, len(platforms)) if platforms[i] != platforms[i - 1]]]
    for start, end in zip(starts, [*starts[1:], len(platforms)], strict=True):
        if start:
            axes.axvline(start - 0.5, color="white", lw=1.5)
        axes.text((start + end - 1) / 2, -0.8, platforms[start], ha="center", va="bottom", fontsize=8)
    axes.set_title("Measured configurations per model and device (grey: never measured)", pad=24, fontsize=10)
    return figure


def _matrix_section(focus: Sequence[pd.DataFrame], threshold: float) -> list[str]:
    if not focus:
        return ["<p class='note'>No prediction matrix published yet.</p>"]
    parts = [
        "<p class='note'>The most measured model settings, on the devices measured for them and the fastest "
        "predicted ones. Each cell: the prediction and its confidence; the tables under each chart give the 80 % "
        "intervals.</p>"
    ]
    for rows in focus:
        setting = setting_label(rows)
        parts.append(f"<h3>{html.escape(setting)}</h3>")
        for metric in predicted_metrics(rows):
            table = comparison_table(rows, metric, threshold).drop(columns=["model", "precision", "mode"])
            parts += [
                inline_image(heatmap_figure(heatmap_frame(rows, metric), threshold), f"{setting}: {metric} heatmap"),
                f"<details><summary>{html.escape(metric)}: 80 % intervals</summary>",
                html_table(table.drop(columns="low confidence"), table["low confidence"]),
                "</details>",
            ]
    return parts


def _serving_section(serving: pd.DataFrame) -> list[str]:
    """LLMs served under a concurrency cap: tokens/s, per-token latency and accelerator power, each with its interval."""
    if serving.empty:
        return ["<p class='note'>No serving model yet: no serving workload has been measured.</p>"]
    table = serving[["model_name", "hardware_name", "batch_size", "precision"]].rename(
        columns={"batch_size": "concurrent sequences"}
    )
    for key, label in (("throughput", "output tokens/s"), ("latency", "ms per output token"), ("power", "W (GPUs)")):
        m = vocabulary.metric(key)
        table[label] = [
            "–" if pd.isna(value) else f"{number(value)} ({number(lower)} – {number(upper)}), conf. {confidence:.2f}"
            for value, lower, upper, confidence in serving[[m.figure(f) for f in ("pred", "lower", "upper", "confidence")]]
            .itertuples(index=False)
        ]
    return [
        "<p class='note'>Predictions of the serving models (workload serving, per-token latency, accelerator power), "
        "never mixed with the static-batch ones; the interval is 80 %.</p>",
        html_table(table),
    ]


def _evaluation_section(evaluation: pd.DataFrame) -> list[str]:
    if evaluation.empty:
        return ["<p class='note'>No model evaluated yet.</p>"]
    return [
        "<p class='note'>Held-out figures of the newest version of each metric over all rows. Judge by the grouped "
        "splits (one hardware or one model left out); random k-fold is the optimistic one. The baseline is the "
        "roofline-scaled nearest neighbour.</p>",
        html_table(evaluation_summary(evaluation)),
    ]


def _coverage_section(coverage: pd.DataFrame) -> list[str]:
    if coverage.empty:
        return ["<p class='note'>No coverage table yet (marts.coverage_gaps).</p>"]
    figure = inline_image(coverage_figure(coverage), "measured model x device cells")
    return [html_table(coverage_summary(coverage)), figure]


def _queue_section(queue: pd.DataFrame, batch: pd.DataFrame) -> list[str]:
    if queue.empty:
        return ["<p class='note'>No active-learning queue published yet.</p>"]
    parts = [
        "<p class='note'>Untested configurations ranked by expected information gain (a weighted mean of "
        "uncertainty, diversity and expected model change).</p>",
        html_table(_display(queue, QUEUE_COLUMNS)),
    ]
    if len(batch):
        parts += [f"<h3>Suggested test batch {html.escape(str(batch['batch_id'].iloc[0]))}</h3>",
                  html_table(_display(batch, BATCH_COLUMNS))]
    return parts


def _versions_section(versions: pd.DataFrame) -> list[str]:
    if versions.empty:
        return ["<p class='note'>No model trained yet.</p>"]
    shown = versions.copy()
    shown["trained_at"] = pd.to_datetime(shown["trained_at"]).dt.strftime("%Y-%m-%d %H:%M")
    return [html_table(shown.rename(columns={"n_rows": "training rows"}))]


def pipeline_report(data: ReportData, output_path: str | Path, confidence_threshold: float = 0.5) -> Path:
    """Write the pipeline's report: one HTML file with inline CSS and PNGs, no scripts, no external links.

    ``data`` comes from ``report_data.load_report_data``; a table not published yet shows as a note.
    """
    created = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    totals = "; ".join(f"{name}: {count:,}" for name, count in data.totals.items())
    anchors = {title: title.lower().replace(" ", "-") for title in PIPELINE_SECTIONS}
    sections = [
        _matrix_section(data.focus, confidence_threshold),
        _serving_section(data.serving),
        _evaluation_section(data.evaluation),
        _coverage_section(data.coverage),
        _queue_section(data.queue, data.test_batch),
        _versions_section(data.versions),
    ]
    body = [
        f"<p class='note'>Generated {created}. {html.escape(totals)}. Confidence is the estimated probability that "
        f"a measurement lies within ±25 % of the prediction; cells and rows under {confidence_threshold:.2f} are "
        "marked low confidence.</p>",
        "<nav>" + " · ".join(f"<a href='#{a}'>{html.escape(t)}</a>" for t, a in anchors.items()) + "</nav>",
    ]
    for (title, anchor), parts in zip(anchors.items(), sections, strict=True):
        body += [f"<section id='{anchor}'><h2>{html.escape(title)}</h2>", *parts, "</section>"]
    versions = dict(zip(data.versions.get("metric", []), data.versions.get("model_version", []), strict=True))
    page = html_page(
        "perfpredict: predictions, accuracy and what to measure next",
        body,
        {"sections": PIPELINE_SECTIONS, "model_versions": versions, "totals": data.totals},
    )
    path = Path(output_path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(page, encoding="utf-8")
    return path
