"""Records of the ML.ENERGY releases as one frame, with the problems only the reader can see.

Each release states one configuration per JSON object or CSV row. The reader needs some of those
fields to compute a canonical figure (seconds to milliseconds, energy per request to energy per
token, the parallelism from the degrees), so a missing field or a value that is not a number is
refused here, naming the source's own field; every other cell goes to validation as it is.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from predictive_performance.ingest.canonical import UnreadableFileError
from predictive_performance.ingest.sources import SourceTables
from predictive_performance.ingest.validation import Reject
from predictive_performance.warehouse import CatalogFacts

# NVML / Zeus read each GPU's own counter and sum them: the accelerators, never the wall.
POWER_SCOPE = "accelerators"
# How the work is split, in the order a row is named by: the first degree above one wins.
PARALLEL_DEGREES = ("tensor", "expert", "pipeline", "sequence", "data")


@dataclass
class Records:
    """The accepted records (``file``, ``source_row`` and the source's fields) and the refused ones."""

    frame: pd.DataFrame
    rejects: list[Reject]


def read_json(path: Path) -> object:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (ValueError, OSError) as error:
        raise UnreadableFileError(f"{path}: cannot be read as JSON: {error}") from error


def collect(
    entries: Iterable[tuple[str, int, object]],
    required: tuple[str, ...],
    numeric: tuple[str, ...] = (),
    whole: tuple[str, ...] = (),
) -> Records:
    """One row per (file, record number, record); ``numeric`` and ``whole`` fields are parsed here."""
    rows, rejects = [], []
    for file, number, record in entries:
        if not isinstance(record, dict):
            rejects.append(Reject(file, number, "*", f"not a JSON object: {record!r}"))
            continue
        missing = [name for name in required if _blank(record.get(name))]
        rejects += [Reject(file, number, name, "missing field") for name in missing]
        if not missing:
            rows.append({"file": file, "source_row": number, **record})
    frame = pd.DataFrame(rows, columns=["file", "source_row", *required]) if not rows else pd.DataFrame(rows)
    for name in (*numeric, *whole):
        parsed = pd.to_numeric(frame[name].map(_number_or_none), errors="coerce")
        bad = ~np.isfinite(parsed) | ((parsed % 1 != 0) if name in whole else False)
        rejects += [
            Reject(row.file, int(row.source_row), name, f"not a {'whole ' if name in whole else ''}number: {value!r}")
            for row, value in zip(frame.loc[bad].itertuples(), frame.loc[bad, name])
        ]
        frame = frame.loc[~bad].assign(**{name: parsed[~bad]})
    return Records(frame.reset_index(drop=True), rejects)


def parallelism(degrees: dict[str, pd.Series]) -> pd.Series:
    """The first of tensor, expert, pipeline, sequence, data whose degree is above one; empty on a single device."""
    named = pd.Series(None, index=next(iter(degrees.values())).index, dtype=object)
    for kind in reversed(PARALLEL_DEGREES):
        if kind in degrees:
            named = named.mask(degrees[kind] > 1, kind)
    return named


def diffusion_setting(
    task: str | pd.Series, width: pd.Series, height: pd.Series, steps: pd.Series, frames: pd.Series | None = None
) -> dict[str, pd.Series]:
    """The inputs that fix one generated image's (video's) work, as the task label and as numbers.

    The roofline scales the catalog's FLOPs per item by pixels, frames and steps relative to the
    catalog's reference, so ``image_size`` is the side of the square with the output's pixel count
    (``sqrt(width x height)``, the side itself for a square image): ``(image_size / reference)^2`` is
    then the ratio of pixels for any shape. An unknown resolution stays empty.
    """
    width, height = pd.to_numeric(width, errors="coerce"), pd.to_numeric(height, errors="coerce")
    shown = (" " + width.astype("Int64").astype(str) + "x" + height.astype("Int64").astype(str)).where(width.notna(), "")
    counted = "" if frames is None else " " + frames.astype(str) + " frames"
    return {
        "task": task + shown + counted + " " + steps.astype(str) + " steps",
        "image_size": np.sqrt(width * height).round().astype("Int64"),
        "num_frames": frames,
        "denoising_steps": steps,
    }


def tables(
    source: str, rows: pd.DataFrame, files: pd.Series, rejects: list[Reject], catalog: CatalogFacts | None = None
) -> SourceTables:
    """Canonical rows split by the file they came from, so validation names the file."""
    results = {str(file): group.reset_index(drop=True) for file, group in rows.groupby(files.to_numpy(), sort=True)}
    return SourceTables(source, results, rejects=rejects, catalog=catalog)


def _blank(value: object) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _number_or_none(value: object) -> object:
    """JSON true / false are not numbers, though Python counts them as 1 / 0."""
    return None if isinstance(value, bool) else value
