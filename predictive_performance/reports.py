"""Charts and reports of predictions: a heatmap PNG and a self-contained comparison report.

Matplotlib is used through its object API on the Agg canvas (``Figure`` + ``FigureCanvasAgg``),
never ``pyplot``: no global figure state, no GUI backend, safe in Dagster workers and threads.

Confidence is always visible, because a prediction for an unmeasured device is a different thing
from one next to measurements: heatmap cells print their confidence and cells under the
threshold are faded and hatched; report tables print the 80 % interval and the confidence of
every figure, and bars of low-confidence predictions are hatched.
"""

from __future__ import annotations

import base64
import html
import io
import json
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.colors import LogNorm, Normalize
from matplotlib.figure import Figure
from matplotlib.patches import Patch, Rectangle

UNITS = {"throughput": "items/s", "latency_ms": "ms per batch", "memory_mb": "MB (peak)", "power_w": "W (average)"}
LOW_CONFIDENCE_HATCH = "///"


def _format(value: float) -> str:
    if value is None or not np.isfinite(value):
        return "n/a"
    if abs(value) >= 1e5 or abs(value) < 1e-2:
        return f"{value:.2e}"
    return f"{value:.3g}" if abs(value) < 100 else f"{value:,.0f}"


def _png(figure: Figure) -> bytes:
    FigureCanvasAgg(figure)
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=110, bbox_inches="tight")
    return buffer.getvalue()


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
    unit = UNITS.get(metric, "")
    data = values.to_numpy(dtype=float)
    finite = data[np.isfinite(data) & (data > 0)]

    figure = Figure(figsize=(1.3 * data.shape[1] + 4.5, 0.55 * data.shape[0] + 2.2))
    axes = figure.add_subplot()
    if len(finite) and finite.max() / finite.min() > 20:
        norm = LogNorm(vmin=finite.min(), vmax=finite.max())
    else:
        norm = Normalize(vmin=finite.min() if len(finite) else 0, vmax=finite.max() if len(finite) else 1)
    cmap = "viridis_r" if metric in ("latency_ms", "memory_mb", "power_w") else "viridis"  # bright = better
    image = axes.imshow(np.ma.masked_invalid(data), cmap=cmap, norm=norm, aspect="auto")
    colorbar = figure.colorbar(image, ax=axes)
    colorbar.set_label(f"predicted {metric} ({unit})" if unit else f"predicted {metric}")

    low_any = False
    for i in range(data.shape[0]):
        for j in range(data.shape[1]):
            value, conf = data[i, j], confidence.to_numpy(dtype=float)[i, j]
            if not np.isfinite(value):
                axes.text(j, i, "n/a", ha="center", va="center", fontsize=8, color="grey")
                continue
            low = not (conf >= confidence_threshold)
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
                f"{_format(value)}\n{conf_text}",
                ha="center",
                va="center",
                fontsize=8,
                color=color,
                fontweight="normal" if low else "bold",
            )
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


def prediction_heatmap(
    matrix: pd.DataFrame, output_path: str | Path, confidence_threshold: float = 0.5, title: str | None = None
) -> Path:
    """Write the heatmap of a prediction matrix (``PerformancePredictor.generate_prediction_matrix``) as PNG."""
    path = Path(output_path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(_png(heatmap_figure(matrix, confidence_threshold, title)))
    return path


# --- comparison report --------------------------------------------------------------------------------


def comparison_chart(predictions: pd.DataFrame, metric: str, confidence_threshold: float = 0.5) -> Figure:
    """Bars per hardware (x) and model (colour), one panel per batch size; error bars are the 80 % intervals."""
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
            pred = part[f"{metric}_pred"].to_numpy(dtype=float)
            lower = part[f"{metric}_lower"].to_numpy(dtype=float)
            upper = part[f"{metric}_upper"].to_numpy(dtype=float)
            conf = part[f"{metric}_confidence"].to_numpy(dtype=float)
            x = np.arange(len(devices)) + (k - (len(models) - 1) / 2) * width
            bars = axes.bar(x, np.nan_to_num(pred), width, color=colours[k], label=model)
            for bar, c in zip(bars, conf, strict=True):
                if not (c >= confidence_threshold):
                    bar.set_hatch(LOW_CONFIDENCE_HATCH)
                    bar.set_alpha(0.55)
            error = np.vstack([np.clip(pred - lower, 0, None), np.clip(upper - pred, 0, None)])
            axes.errorbar(x, pred, yerr=np.nan_to_num(error), fmt="none", ecolor="black", elinewidth=0.8, capsize=2)
        axes.set_yscale("log")
        axes.set_ylabel(f"{metric} ({UNITS.get(metric, '')})", fontsize=8)
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
    table = pd.DataFrame(
        {
            "model": predictions["model_name"],
            "hardware": predictions["hardware_name"],
            "batch size": predictions["batch_size"],
            "precision": predictions["precision"],
            "mode": predictions["mode"],
            "prediction": predictions[f"{metric}_pred"].map(_format),
            "80% interval": [
                f"{_format(lo)} – {_format(hi)}"
                for lo, hi in zip(predictions[f"{metric}_lower"], predictions[f"{metric}_upper"], strict=True)
            ],
            "confidence": predictions[f"{metric}_confidence"].map(lambda c: f"{c:.2f}" if np.isfinite(c) else "n/a"),
            "low confidence": ~(predictions[f"{metric}_confidence"] >= confidence_threshold),
            "device measured": predictions.get("hardware_measured", pd.Series(np.nan, index=predictions.index)),
        }
    )
    return table.reset_index(drop=True)


def best_per_model(predictions: pd.DataFrame, metric: str) -> pd.DataFrame:
    """The best device per model and batch size (highest throughput, lowest anything else)."""
    ascending = metric != "throughput"
    ordered = predictions.sort_values(f"{metric}_pred", ascending=ascending, na_position="last")
    best = ordered.drop_duplicates(["model_name", "batch_size"]).sort_values(["model_name", "batch_size"])
    return pd.DataFrame(
        {
            "model": best["model_name"],
            "batch size": best["batch_size"],
            "best hardware": best["hardware_name"],
            "prediction": best[f"{metric}_pred"].map(_format),
            "confidence": best[f"{metric}_confidence"].map(lambda c: f"{c:.2f}" if np.isfinite(c) else "n/a"),
        }
    ).reset_index(drop=True)


_STYLE = """
body { font-family: -apple-system, 'Segoe UI', Helvetica, Arial, sans-serif; margin: 2em auto; max-width: 1100px;
       color: #222; line-height: 1.4; padding: 0 1em; }
h1 { font-size: 1.6em; } h2 { font-size: 1.25em; margin-top: 2em; border-bottom: 1px solid #ddd; }
table { border-collapse: collapse; font-size: 0.85em; margin: 0.8em 0; }
th, td { border: 1px solid #ddd; padding: 3px 8px; text-align: left; }
th { background: #f4f4f4; } tr.low td { color: #777; background: repeating-linear-gradient(45deg, #fff, #fff 4px,
#f3f3f3 4px, #f3f3f3 8px); }
.note { color: #555; font-size: 0.9em; } img { max-width: 100%; }
"""


def _html_table(table: pd.DataFrame, low: pd.Series | None = None) -> str:
    head = "".join(f"<th>{html.escape(str(c))}</th>" for c in table.columns)
    rows = []
    for position, row in enumerate(table.itertuples(index=False)):
        css = ' class="low"' if low is not None and bool(low.iloc[position]) else ""
        cells = "".join(f"<td>{html.escape(str(v))}</td>" for v in row)
        rows.append(f"<tr{css}>{cells}</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>"


def _markdown_table(table: pd.DataFrame) -> str:
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
        content = _document(predictions, list(metrics), fmt, confidence_threshold, model_versions or {}, notes, title)
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
                f"## {metric} ({UNITS.get(metric, '')})",
                "",
                "Best device per model:",
                "",
                _markdown_table(best_per_model(predictions, metric)),
                "",
                _markdown_table(comparison_table(predictions, metric, threshold)),
                "",
            ]
        parts += ["## Model versions", ""] + [f"- {line}" for line in version_lines]
        return "\n".join(parts) + "\n"
    body = [f"<h1>{html.escape(title)}</h1>", f"<p class='note'>{html.escape(intro)}</p>"]
    if notes:
        body.append("<ul>" + "".join(f"<li>{html.escape(n)}</li>" for n in notes) + "</ul>")
    for metric in metrics:
        chart = base64.b64encode(_png(comparison_chart(predictions, metric, threshold))).decode("ascii")
        table = comparison_table(predictions, metric, threshold)
        body += [
            f"<h2>{html.escape(metric)} ({html.escape(UNITS.get(metric, ''))})</h2>",
            f'<img alt="{html.escape(metric)} by hardware and model" src="data:image/png;base64,{chart}">',
            "<h3>Best device per model</h3>",
            _html_table(best_per_model(predictions, metric)),
            "<h3>All predictions</h3>",
            _html_table(table.drop(columns="low confidence"), table["low confidence"]),
        ]
    body.append("<h2>Model versions</h2><ul>" + "".join(f"<li>{html.escape(v)}</li>" for v in version_lines) + "</ul>")
    meta = html.escape(json.dumps({"metrics": metrics, "model_versions": versions}))
    return (
        "<!DOCTYPE html>\n<html lang='en'><head><meta charset='utf-8'>"
        f"<title>{html.escape(title)}</title><meta name='perfpredict' content=\"{meta}\">"
        f"<style>{_STYLE}</style></head><body>{''.join(body)}</body></html>\n"
    )
