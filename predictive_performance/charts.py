"""Charts of the demo: predictions with their 80 % intervals and their confidence, as PNG files.

Three shapes cover the demo views: one configuration's metrics as points on their intervals
(one panel per metric, since their units differ), ranked horizontal bars (one model across
devices) and curves over batch size (one model on one device). Confidence is drawn on the marks themselves, not only
in a caption, because a figure copied into a slide loses its caption: bars and points under the
confidence threshold are faded and hatched (or hollow), every bar and point carries its
confidence figure, and devices without measurements are labelled "(catalog only)".

Matplotlib's object API on the Agg canvas, as in ``reports``: no pyplot state, no GUI backend.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch

from predictive_performance.report_html import png_bytes
from predictive_performance.reports import LOW_CONFIDENCE_HATCH, number

MEASURED_COLOUR = "#1f77b4"
CATALOG_ONLY_COLOUR = "#ff7f0e"
CATALOG_ONLY_LABEL = " (catalog only)"


HIGH_CONFIDENCE = 0.8


def confidence_label(confidence: float | None, threshold: float) -> str:
    """``0.72 medium``: the confidence figure and its word, as every table and chart shows it."""
    word = confidence_word(confidence, threshold)
    return word if word == "n/a" else f"{confidence:.2f} {word}"


def confidence_word(confidence: float | None, threshold: float) -> str:
    """``high`` (>= 0.8), ``medium`` (>= the low-confidence threshold) or ``low``: the figure in plain words."""
    if confidence is None or not np.isfinite(confidence):
        return "n/a"
    if confidence >= max(HIGH_CONFIDENCE, threshold):
        return "high"
    return "medium" if confidence >= threshold else "low"


def write_png(figure: Figure, path: str | Path) -> Path:
    """Render ``figure`` on the Agg canvas into ``path`` (folders created)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(png_bytes(figure))
    return path


def _figures(frame: pd.DataFrame) -> tuple[np.ndarray, ...]:
    """value, lower, upper, confidence as float arrays (NaN where missing)."""
    return tuple(frame[c].to_numpy(dtype=float) for c in ("value", "lower", "upper", "confidence"))


def _caption(figure: Figure, text: str) -> None:
    figure.text(0.01, -0.01, text, fontsize=7.5, color="dimgrey", ha="left", va="top", wrap=True)


def metric_intervals(rows: pd.DataFrame, *, threshold: float, title: str, caption: str) -> Figure:
    """One panel per metric for one configuration: the prediction as a point on its 80 % interval.

    ``rows`` columns: metric, unit, value, lower, upper, confidence. Metrics have different units,
    so each gets its own axis; the panel title carries the figures and the confidence, and a
    point under ``threshold`` is hollow.
    """
    if rows.empty:
        raise ValueError("nothing to chart: no predictions")
    figure = Figure(figsize=(7.5, 1.2 * len(rows) + 0.9))
    for panel, row in enumerate(rows.itertuples(index=False), start=1):
        axes = figure.add_subplot(len(rows), 1, panel)
        low = not row.confidence >= threshold
        error = [[max(row.value - row.lower, 0.0)], [max(row.upper - row.value, 0.0)]]
        axes.errorbar(
            [row.value], [0], xerr=np.nan_to_num(error), fmt="o", color=MEASURED_COLOUR, capsize=6, markersize=8,
            markerfacecolor="white" if low else MEASURED_COLOUR,
        )
        axes.set_yticks([])
        axes.margins(x=0.2)
        axes.set_xlabel(f"{row.metric} ({row.unit})", fontsize=8)
        axes.set_title(
            f"{row.metric}: {number(row.value)} (80 % interval {number(row.lower)} – {number(row.upper)}), "
            f"confidence {confidence_label(row.confidence, threshold)}",
            fontsize=9,
            loc="left",
        )
    figure.suptitle(title, fontsize=10)
    figure.tight_layout()
    _caption(figure, caption)
    return figure


def interval_bars(
    bars: pd.DataFrame, *, threshold: float, axis_label: str, title: str, caption: str
) -> Figure:
    """Horizontal bars, first row on top: ``value`` with ``lower``-``upper`` error bars.

    ``bars`` columns: label, value, lower, upper, confidence, measured. Bars of devices without
    measurements are orange and labelled "(catalog only)"; opacity follows confidence and bars
    under ``threshold`` are hatched; each bar's confidence and its word print beside it.
    """
    if bars.empty:
        raise ValueError("nothing to chart: no predictions")
    value, lower, upper, confidence = _figures(bars)
    measured = bars["measured"].astype(bool).to_numpy()
    y = np.arange(len(bars))[::-1]
    figure = Figure(figsize=(9.0, 0.42 * len(bars) + 1.8))
    axes = figure.add_subplot()
    colours = np.where(measured, MEASURED_COLOUR, CATALOG_ONLY_COLOUR)
    drawn = axes.barh(y, np.nan_to_num(value), color=colours, edgecolor="black", linewidth=0.4)
    for bar, conf in zip(drawn, confidence, strict=True):
        bar.set_alpha(0.35 + 0.65 * float(np.clip(np.nan_to_num(conf), 0.0, 1.0)))
        if not conf >= threshold:
            bar.set_hatch(LOW_CONFIDENCE_HATCH)
    error = np.vstack([np.clip(value - lower, 0, None), np.clip(upper - value, 0, None)])
    axes.errorbar(value, y, xerr=np.nan_to_num(error), fmt="none", ecolor="black", elinewidth=0.9, capsize=3)
    finite = value[np.isfinite(value) & (value > 0)]
    if len(finite) and np.nanmax(upper) / finite.min() > 30:
        axes.set_xscale("log")
    ends = np.fmax(upper, value)  # the interval's end, or the bar's where the interval is missing
    for row, position in enumerate(y):
        if np.isfinite(ends[row]):
            text = f" conf {confidence_label(confidence[row], threshold)}"
            axes.text(ends[row], position, text, va="center", fontsize=7.5)
        else:
            axes.text(axes.get_xlim()[0], position, " no prediction", va="center", fontsize=7.5)
    labels = [
        f"{label}{'' if known else CATALOG_ONLY_LABEL}" for label, known in zip(bars["label"], measured, strict=True)
    ]
    axes.set_yticks(y, labels, fontsize=8)
    for tick, known in zip(axes.get_yticklabels(), measured, strict=True):
        if not known:
            tick.set_fontstyle("italic")
    axes.set_xlabel(axis_label)
    axes.set_title(title, fontsize=10)
    axes.margins(x=0.25)
    axes.legend(
        handles=[
            Patch(facecolor=MEASURED_COLOUR, edgecolor="black", label="device with measurements"),
            Patch(facecolor=CATALOG_ONLY_COLOUR, edgecolor="black", label="catalog only (specs, no measurements)"),
            Patch(
                facecolor="white", edgecolor="black", hatch=LOW_CONFIDENCE_HATCH, label=f"confidence < {threshold:.2f}"
            ),
            Line2D([], [], color="black", marker="|", linestyle="-", label="80 % interval"),
        ],
        fontsize=7,
        loc="upper left",
        bbox_to_anchor=(1.01, 1.0),  # beside the axes: inside, it hides the longest or the shortest bars
    )
    _caption(figure, caption)
    return figure


def batch_curves(
    curves: pd.DataFrame, measured: pd.DataFrame, *, threshold: float, units: dict[str, str], title: str, caption: str
) -> Figure:
    """One panel per metric: prediction over batch size with its 80 % band, beside any measurements.

    ``curves`` columns: metric, batch_size, value, lower, upper, confidence; ``measured``:
    metric, batch_size, value (the warehouse's own rows for the same configuration). Points
    under ``threshold`` are hollow; every point is annotated with its confidence.
    """
    metrics = list(dict.fromkeys(curves["metric"]))
    if not metrics:
        raise ValueError("nothing to chart: no predictions")
    figure = Figure(figsize=(5.2 * len(metrics), 4.2))
    for panel, metric in enumerate(metrics, start=1):
        axes = figure.add_subplot(1, len(metrics), panel)
        rows = curves[curves["metric"] == metric].sort_values("batch_size")
        x = rows["batch_size"].to_numpy(dtype=float)
        value, lower, upper, confidence = _figures(rows)
        axes.fill_between(x, lower, upper, color=MEASURED_COLOUR, alpha=0.18, linewidth=0, label="80 % interval")
        axes.plot(x, value, color=MEASURED_COLOUR, linewidth=1.4, label="prediction")
        low = ~(confidence >= threshold)
        if (~low).any():
            axes.scatter(
                x[~low], value[~low], color=MEASURED_COLOUR, zorder=3, s=28, label=f"confidence ≥ {threshold:.2f}"
            )
        if low.any():
            axes.scatter(
                x[low], value[low], facecolor="white", edgecolor=MEASURED_COLOUR, zorder=3, s=28,
                label=f"confidence < {threshold:.2f}",
            )
        for xi, vi, ci in zip(x, value, confidence, strict=True):
            if np.isfinite(vi):
                text = f"{ci:.2f}" if np.isfinite(ci) else "n/a"
                axes.annotate(text, (xi, vi), textcoords="offset points", xytext=(0, 7), ha="center", fontsize=7)
        points = measured[measured["metric"] == metric]
        if not points.empty:
            axes.scatter(
                points["batch_size"], points["value"], marker="x", color="black", zorder=4, s=36, label="measured"
            )
        axes.set_xscale("log", base=2)
        axes.set_xticks(x, [str(int(b)) for b in x])
        axes.minorticks_off()  # log-2 minor ticks would label 3, 5, 6, ... between the batch sizes
        if np.isfinite(value).any() and np.nanmax(upper) / np.nanmin(lower[lower > 0], initial=np.inf) > 30:
            axes.set_yscale("log")
        axes.set_xlabel("batch size")
        axes.set_ylabel(f"{metric} ({units.get(metric, '')})")
        axes.set_title(f"{metric}: prediction, confidence per point", fontsize=9)
        axes.legend(fontsize=7, loc="best")
    figure.suptitle(title, fontsize=10)
    figure.tight_layout()
    _caption(figure, caption)
    return figure
