"""Regenerate the embedded sample data: real measurements of this machine's CPU.

    nice -n 10 python -m predictive_performance.benchmark.sample \\
        --output data/sample/local_cpu_benchmarks.parquet --time-budget-min 44

Measures the sample grid (every non-test architecture x every runtime and precision this
machine runs x batch sizes 1-64 x several sequence lengths / image sizes, plus fp32 training of
the small models) with the local runner, and writes the measured rows in the canonical + extra
columns as zstd Parquet, checkpointing as it goes (``--resume`` continues a broken run).
Configurations whose iteration is predicted to exceed ``--max-iteration-s`` are skipped and
listed, with the failures, in ``<output stem>_not_measured.csv``.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import time
from dataclasses import astuple
from pathlib import Path

import pandas as pd

from predictive_performance.benchmark.architectures import ARCHITECTURES, get_architecture
from predictive_performance.benchmark.configuration import BenchmarkConfig
from predictive_performance.benchmark.hardware import detect_hardware
from predictive_performance.benchmark.plan import TRAINING_MODELS, estimated_iteration_s, runtime_modes, supports
from predictive_performance.benchmark.results import HIGH_CV_THRESHOLD, Measurement, results_frame
from predictive_performance.benchmark.runner import BenchmarkRunner

DEFAULT_OUTPUT = Path("data") / "sample" / "local_cpu_benchmarks.parquet"
BATCHES = (1, 2, 4, 8, 16, 32, 64)
# (sequence length -> batch sizes) per modality; the first entry of each is the full batch sweep.
TEXT_SHAPES = {128: BATCHES, 32: BATCHES, 64: (1, 2, 4, 8, 16, 32), 256: (1, 2, 4, 8)}
VISION_SHAPES = {224: BATCHES, 160: BATCHES}
WAV2VEC2_SHAPES = {16000: (1, 2, 4, 8, 16, 32), 32000: (1, 4, 16), 80000: (1, 4)}
WHISPER_SHAPES = {3000: (1, 2, 4, 8, 16)}
CLIP_SHAPES = {77: BATCHES, 32: (1, 4, 16)}
TRAINING_BATCHES = (1, 4, 16)
# Models in the order they are measured: cheap first, so that a time budget cuts the dearest.
MODEL_ORDER = (
    "electra-small",
    "mobilenet-v2",
    "resnet-18",
    "efficientnet-b0",
    "t5-small",
    "distilbert-base-uncased",
    "deit-small-patch16-224",
    "whisper-tiny",
    "convnext-tiny-224",
    "resnet-50",
    "bert-base-uncased",
    "roberta-base",
    "albert-base-v2",
    "gpt2",
    "opt-125m",
    "vit-base-patch16-224",
    "clip-vit-base-patch32",
    "bart-base",
    "wav2vec2-base",
    "bert-large-uncased",
)


def _shape_table(name: str) -> dict[int, tuple[int, ...]]:
    spec = get_architecture(name)
    if spec.family == "wav2vec2":
        return WAV2VEC2_SHAPES
    if spec.family == "whisper":
        return WHISPER_SHAPES
    if spec.family == "clip":
        return CLIP_SHAPES
    if spec.modality == "vision":
        return VISION_SHAPES
    return TEXT_SHAPES


def sample_grid(hardware) -> list[BenchmarkConfig]:
    """Every model (in ``MODEL_ORDER``) x runtime and precision x its input sizes and batch sizes,
    plus fp32 training of the small models; configurations of one model stay together so that
    each model is built, exported and quantized once per runtime and precision."""
    configs = []
    for name in MODEL_ORDER:
        spec = get_architecture(name)
        table = _shape_table(name)
        for platform, precision, mode in runtime_modes(hardware):
            if mode == "training" or not supports(spec, platform, precision, mode):
                continue
            for size, batches in table.items():
                for batch in batches:
                    sequence = size if spec.uses_sequence_length else None
                    image = size if spec.modality == "vision" else (224 if spec.modality == "multimodal" else None)
                    configs.append(BenchmarkConfig(name, platform, batch, precision, "inference", sequence, image))
        if name in TRAINING_MODELS:
            size = next(iter(table))
            for batch in TRAINING_BATCHES:
                sequence = size if spec.uses_sequence_length else None
                image = size if spec.modality == "vision" else None
                configs.append(BenchmarkConfig(name, "cpu", batch, "fp32", "training", sequence, image))
    return configs


class Checkpoint:
    """Keeps measured rows and writes them to Parquet every few results."""

    def __init__(
        self, output: Path, hardware, previous: pd.DataFrame | None, every: int = 20, every_s: float = 60.0
    ) -> None:
        self.output = output
        self.hardware = hardware
        self.previous = previous if previous is not None else pd.DataFrame()
        self.measurements: list[Measurement] = []
        self.contention: list[float] = []
        self.every = every
        self.every_s = every_s
        self._last = time.monotonic()
        self._pending = 0

    def __call__(self, item) -> None:
        if isinstance(item, Measurement):
            self.measurements.append(item)
            if item.cpu_contention is not None:
                self.contention.append(item.cpu_contention)
            self._pending += 1
            if self._pending >= self.every or time.monotonic() - self._last > self.every_s:
                self.write()

    def frame(self) -> pd.DataFrame:
        new = results_frame(self.measurements, self.hardware)
        if self.previous.empty:
            return new
        return pd.concat([self.previous, new], ignore_index=True)

    def write(self) -> None:
        frame = self.frame()
        self.output.parent.mkdir(parents=True, exist_ok=True)
        temporary = self.output.with_suffix(".parquet.tmp")
        frame.to_parquet(temporary, index=False, compression="zstd", compression_level=19)
        temporary.replace(self.output)
        self._pending = 0
        self._last = time.monotonic()


NOT_MEASURED_COLUMNS = [
    "status",
    "model_name",
    "hardware_platform",
    "precision",
    "mode",
    "batch_size",
    "sequence_length",
    "image_size",
    "reason",
]


def _arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--min-repeat-s", type=float, default=0.08, help="each timed repeat runs at least this long")
    parser.add_argument(
        "--max-iteration-s", type=float, default=0.5, help="skip configurations predicted slower per iteration"
    )
    parser.add_argument("--time-budget-min", type=float, default=44.0)
    parser.add_argument("--resume", action="store_true", help="keep the rows already in --output and measure the rest")
    parser.add_argument("--dry-run", action="store_true", help="print the grid size and a time estimate only")
    parser.add_argument("--models", nargs="*", help="only these models")
    parser.add_argument("--platforms", nargs="*", help="only these platforms (cpu, onnxruntime, openvino)")
    return parser.parse_args(argv)


def selected_phases(hardware, models: list[str] | None, platforms: list[str] | None) -> list[list[BenchmarkConfig]]:
    """The sample grid, in phases measured one after the other, narrowed to ``models`` and ``platforms``."""
    phases = [sample_grid(hardware)]
    if models:
        wanted = {get_architecture(m).name for m in models}
        phases = [[c for c in phase if c.model_name in wanted] for phase in phases]
    if platforms:
        phases = [[c for c in phase if c.hardware_platform in set(platforms)] for phase in phases]
    return phases


def print_estimate(phases: list[list[BenchmarkConfig]], hardware, args: argparse.Namespace) -> None:
    """``--dry-run``: the grid's size and a rough, uncontended time per phase."""
    for index, phase in enumerate(phases):
        seconds = [estimated_iteration_s(c, hardware) for c in phase]
        kept = [s for s in seconds if s <= args.max_iteration_s]
        cost = 1.5 * sum(0.1 + 2 * s + args.repeats * max(args.min_repeat_s, s) for s in kept)
        groups = {(c.model_name, c.hardware_platform, c.precision, c.mode) for c in phase}
        cost += 6 * len(groups) + 20 * len({c.model_name for c in phase})
        print(
            f"phase {index}: {len(phase)} configurations, {len(kept)} under the cap, ~{cost / 60:.0f} min (uncontended guess)"
        )
    print(
        f"architectures: {len({c.model_name for p in phases for c in p})} of {len([s for s in ARCHITECTURES.values() if not s.test_only])}"
    )


def _configurations(frame: pd.DataFrame) -> list[tuple]:
    return [astuple(BenchmarkConfig.from_mapping(record)) for record in frame.to_dict("records")]


def measure_phases(
    phases: list[list[BenchmarkConfig]], hardware, args: argparse.Namespace, checkpoint: Checkpoint
) -> tuple[list[pd.DataFrame], list[pd.DataFrame], float]:
    """Measure each phase within what is left of the time budget: (failures, skipped, seconds)."""
    workdir = Path(tempfile.gettempdir()) / "perfpredict-sample-work"  # exported graphs; kept for --resume
    started = time.perf_counter()
    failures, skipped = [], []
    print(
        f"{hardware.description}\nmeasuring {sum(map(len, phases))} configurations, budget {args.time_budget_min} min",
        flush=True,
    )
    for phase in phases:
        remaining = args.time_budget_min * 60 - (time.perf_counter() - started)
        runner = BenchmarkRunner(
            hardware=hardware,
            repeats=args.repeats,
            warmup=args.warmup,
            min_repeat_s=args.min_repeat_s,
            max_iteration_s=args.max_iteration_s,
            time_budget_s=max(remaining, 0.0),
            progress=True,
            workdir=workdir,
            on_result=checkpoint,
        )
        outcome = runner.run(phase)
        failures.append(outcome.failures)
        skipped.append(outcome.skipped)
        checkpoint.write()
    elapsed = time.perf_counter() - started
    shutil.rmtree(workdir, ignore_errors=True)
    return failures, skipped, elapsed


def write_not_measured(
    side: Path, failures: list[pd.DataFrame], skipped: list[pd.DataFrame], measured: pd.DataFrame, resume: bool
) -> None:
    """The failed and skipped configurations not measured by now, with the reason, as CSV at ``side``."""
    not_measured = (
        pd.concat(
            [f.assign(status="failed").rename(columns={"error": "reason"}) for f in failures if not f.empty]
            + [s.assign(status="skipped") for s in skipped if not s.empty],
            ignore_index=True,
        )
        if any(not f.empty for f in failures + skipped)
        else pd.DataFrame()
    )
    if resume and side.exists():  # keep what earlier runs could not measure, unless measured now
        earlier = pd.read_csv(side)
        not_measured = pd.concat([earlier, not_measured], ignore_index=True) if not not_measured.empty else earlier
    if not_measured.empty:
        return
    not_measured = not_measured[NOT_MEASURED_COLUMNS].astype(
        {"batch_size": "Int64", "sequence_length": "Int64", "image_size": "Int64"}
    )
    not_measured = not_measured.assign(_key=_configurations(not_measured))
    not_measured = not_measured[~not_measured["_key"].isin(set(_configurations(measured)))]
    not_measured.drop_duplicates("_key", keep="last")[NOT_MEASURED_COLUMNS].to_csv(side, index=False)


def sample_stats(
    frame: pd.DataFrame,
    failures: list[pd.DataFrame],
    skipped: list[pd.DataFrame],
    elapsed: float,
    cpu_contention: list[float],
    output: Path,
) -> dict:
    """What the sample holds (rows, architectures, runtimes, sizes) and what this run did."""
    contention = pd.Series(cpu_contention, dtype=float)
    return {
        "rows": len(frame),
        "architectures": int(frame["model_name"].nunique()) if len(frame) else 0,
        "runtimes": sorted(frame["hardware_platform"].unique().tolist()) if len(frame) else [],
        "precisions": {p: sorted(g["precision"].unique().tolist()) for p, g in frame.groupby("hardware_platform")}
        if len(frame)
        else {},
        "batch_sizes": sorted(int(b) for b in frame["batch_size"].unique()) if len(frame) else [],
        "sequence_lengths": sorted(int(s) for s in frame["sequence_length"].dropna().unique()) if len(frame) else [],
        "image_sizes": sorted(int(s) for s in frame["image_size"].dropna().unique()) if len(frame) else [],
        "modes": sorted(frame["mode"].unique().tolist()) if len(frame) else [],
        "flagged_high_cv": int((frame["throughput_cv"] > HIGH_CV_THRESHOLD).sum()) if len(frame) else 0,
        "failed": int(sum(len(f) for f in failures)),
        "skipped": int(sum(len(s) for s in skipped)),
        "this_run_wall_s": round(elapsed, 1),
        "median_cpu_contention": float(contention.median()) if len(contention) else None,
        "file_bytes": output.stat().st_size if output.exists() else 0,
    }


def main(argv: list[str] | None = None) -> int:
    args = _arguments(argv)
    hardware = detect_hardware()
    phases = selected_phases(hardware, args.models, args.platforms)
    if args.dry_run:
        print_estimate(phases, hardware, args)
        return 0
    previous = pd.read_parquet(args.output) if args.resume and args.output.exists() else None
    if previous is not None:
        done = set(_configurations(previous))
        phases = [[c for c in phase if astuple(c) not in done] for phase in phases]
    checkpoint = Checkpoint(args.output, hardware, previous)
    failures, skipped, elapsed = measure_phases(phases, hardware, args, checkpoint)
    frame = checkpoint.frame()
    side = args.output.with_name(args.output.stem + "_not_measured.csv")
    write_not_measured(side, failures, skipped, frame, args.resume)
    stats = sample_stats(frame, failures, skipped, elapsed, checkpoint.contention, args.output)
    print(json.dumps(stats, indent=2), flush=True)
    args.output.with_name(args.output.stem + "_stats.json").write_text(json.dumps(stats, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
