"""The input size a command assumes when none is given: one rule for ``recommend`` and ``demo``.

Predictions are most useful beside measurements, so the sequence length defaults to the one the
model was measured at most (on the device first, when there is one), and only then to the
catalog's reference input size (BERT's is SQuAD's 384, while benchmarks often run at 32 or 128:
answers several times apart). Every command prints what it assumed (``InputSize.describe``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import pandas as pd

if TYPE_CHECKING:
    from predictive_performance.predict import PerformancePredictor

RESULTS = "marts.fct_benchmark_results"


@dataclass(frozen=True)
class InputSize:
    """The sequence length and image size predictions use, and where each came from."""

    sequence_length: int | None
    image_size: int | None
    sequence_source: str | None = None  # None where the model takes no sequence
    image_source: str | None = None  # None where the model takes no image

    def describe(self) -> str:
        """``sequence length 128 (the length gpt2 was measured at most)``; empty for a model with neither."""
        parts = [
            f"{what} {value} ({source})"
            for what, value, source in (
                ("sequence length", self.sequence_length, self.sequence_source),
                ("image size", self.image_size, self.image_source),
            )
            if value is not None and source
        ]
        return ", ".join(parts)


def measured_sequence_length(predictor: PerformancePredictor, model: str, device: str | None = None) -> int | None:
    """The sequence length the model was measured at most (on ``device`` first); None when never measured with one."""
    if not predictor.warehouse.table_exists(RESULTS):
        return None
    rows = predictor.warehouse.query(
        f"""select sequence_length from {RESULTS}
            where model_name = $1 and sequence_length is not null
            group by sequence_length
            order by count(*) filter (where hardware_name = $2) desc, count(*) desc, sequence_length
            limit 1""",
        [model, device],
    )
    return int(rows.iloc[0, 0]) if len(rows) else None


def assumed_input(
    predictor: PerformancePredictor,
    model: str,
    device: str | None = None,
    sequence_length: int | None = None,
    image_size: int | None = None,
) -> InputSize:
    """The input size for ``model`` (any spelling): as given, else as measured most, else the catalog's reference."""
    name = predictor.names.model(model)
    if name is None:  # an unknown model: the prediction itself names it
        return InputSize(sequence_length, image_size, "given", "given")
    reference = predictor.models.set_index("model_name").loc[name]
    ref_sequence, ref_image = (
        None if pd.isna(reference[c]) else int(reference[c]) for c in ("reference_sequence_length", "reference_image_size")
    )
    if sequence_length is not None:
        sequence_source = "given"
    elif (sequence_length := measured_sequence_length(predictor, name, device)) is not None:
        sequence_source = f"the length {name} was measured at most"
    else:
        sequence_length, sequence_source = ref_sequence, f"the catalog's reference for {name}"
    image_source = "given" if image_size is not None else f"the catalog's reference for {name}"
    return InputSize(sequence_length, image_size or ref_image, sequence_source, image_source)


def settings_line(batch_size: int, size: InputSize, precision: str, mode: str, subject: str = "") -> str:
    """The settings a command assumed, and the options that change them (printed above its tables)."""
    described = size.describe()
    return (
        f"settings: {subject + ', ' if subject else ''}batch size {batch_size}{', ' + described if described else ''}, "
        f"precision {precision}, mode {mode} "
        "(change with --batch-size, --sequence-length, --image-size, --precision, --mode)"
    )
