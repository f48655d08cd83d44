"""How the whole pipeline's time and peak memory grow with the number of benchmark rows.

    python benchmarks/pipeline_scaling.py [--sizes 1000 10000 100000 1000000] [--time-budget 5]
        [--trials 2] [--out benchmarks/results]

The rows are SYNTHETIC, for timing only: resampled copies of the real default data (the CPU
sample and, when it sits beside the repository, the Lambda set) with 5 % log-normal noise on
every measurement, tagged ``source = 'SYNTHETIC ...'``. They say nothing about accuracy.

Each size runs ``build_everything`` (ingest, dbt build, the GX gates, training with a small tuning
budget, the prediction matrix, active learning, reports) in a fresh subprocess on a fresh warehouse,
so peaks are separate. Stage times come from Dagster's step events; the stage peak is the resident
memory of the process and its children (dbt), sampled every 0.1 s while the stage's steps ran; the
run's peak is ``getrusage``'s maximum resident set of the process or of any child. Results go to
``<out>/pipeline_scaling.csv`` and ``.md``, with the time per row relative to the smallest size.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np
import pandas as pd
import psutil

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from predictive_performance.schema import RESULT_COLUMNS  # noqa: E402
from predictive_performance.settings import ARTIFACTS_VARIABLE, DB_PATH_VARIABLE  # noqa: E402
from predictive_performance.vocabulary import metric_columns  # noqa: E402

SIZES = (1_000, 10_000, 100_000, 1_000_000)
NOISE = 0.05  # standard deviation of the log-normal factor on each measurement
SYNTHETIC_SOURCE = "SYNTHETIC resampled copy for pipeline_scaling timing (not a measurement)"
# Dagster step -> stage; GX gates are the steps whose key names a suite
STAGES = {
    "raw_tables": "ingest",
    "perfpredict_dbt_models": "dbt build",
    "ml_tables": "training",
    "predictions_staging__prediction_matrix": "prediction matrix",
    "published_predictions": "prediction matrix",
    "active_learning_tables": "active learning",
}
STAGE_ORDER = ("ingest", "dbt build", "GX gates", "training", "prediction matrix", "active learning", "other")


def stage_of(step_key: str) -> str:
    if "_gx_" in step_key:
        return "GX gates"
    if step_key.startswith("ml__") and step_key.endswith("_model"):
        return "training"
    return STAGES.get(step_key, "other")


# --- the synthetic rows -----------------------------------------------------------------------------


def real_rows(folder: Path) -> pd.DataFrame:
    """The default data as canonical rows, read back from a scratch warehouse after a real ingest."""
    from predictive_performance.default_data import ingest_default_data
    from predictive_performance.warehouse import Warehouse

    warehouse = Warehouse(folder / "base.duckdb")
    ingest_default_data(warehouse)
    columns = ", ".join(c.name for c in RESULT_COLUMNS)
    return warehouse.query(f"select {columns} from raw.benchmark_results order by load_id, source_row")


def synthetic_rows(base: pd.DataFrame, rows: int, seed: int = 0) -> pd.DataFrame:
    """``rows`` rows drawn with replacement from ``base``, each measurement times exp(N(0, NOISE))."""
    rng = np.random.default_rng(seed)
    out = base.iloc[rng.integers(0, len(base), rows)].reset_index(drop=True)
    for metric in metric_columns():
        out[metric] = out[metric] * np.exp(rng.normal(0.0, NOISE, rows))
    out["source"] = SYNTHETIC_SOURCE
    return out


# --- one size, in a child process ---------------------------------------------------------------------


class MemorySampler(threading.Thread):
    """Resident memory of this process plus its children, every ``interval`` seconds, with times."""

    def __init__(self, interval: float = 0.1) -> None:
        super().__init__(daemon=True)
        self.interval = interval
        self.samples: list[tuple[float, float]] = []
        self._stop_event = threading.Event()

    def run(self) -> None:
        process = psutil.Process()
        while not self._stop_event.is_set():
            total = process.memory_info().rss
            for child in process.children(recursive=True):
                try:
                    total += child.memory_info().rss
                except psutil.Error:  # a child that ended between listing and reading
                    pass
            self.samples.append((time.time(), total / 2**20))
            self._stop_event.wait(self.interval)

    def stop(self) -> None:
        self._stop_event.set()
        self.join()

    def peak(self, start: float, end: float) -> float:
        inside = [mb for at, mb in self.samples if start <= at <= end]
        return max(inside, default=float("nan"))


def run_size(data: Path, folder: Path, training: dict) -> dict:
    """``build_everything`` on ``data`` with a fresh warehouse in ``folder``; stage times and peaks."""
    os.environ[DB_PATH_VARIABLE] = str(folder / "benchmarks.duckdb")
    os.environ[ARTIFACTS_VARIABLE] = str(folder / "artifacts")
    import dagster as dg

    from dagster_project.defs.transform.project import prepare_dbt_manifest

    prepare_dbt_manifest()  # the definitions' dbt assets read it on import
    from dagster_project.definitions import defs
    from dagster_project.defs.training.assets import model_run_config

    ops = {"raw_tables": {"config": {"paths": [str(data)], "include_default_data": False}}}
    ops.update(model_run_config(training))
    instance = dg.DagsterInstance.ephemeral()
    sampler = MemorySampler()
    sampler.start()
    started = time.time()
    result = defs.resolve_job_def("build_everything").execute_in_process(
        run_config=dg.RunConfig(ops=ops, loggers={"console": {"config": {"log_level": "WARNING"}}}),
        instance=instance,
        raise_on_error=False,
    )
    total = time.time() - started
    sampler.stop()
    windows: dict[str, list[float]] = {}
    failed = []
    for entry in instance.all_logs(result.run_id):
        event = entry.dagster_event
        if event is None or not entry.step_key:
            continue
        if event.event_type == dg.DagsterEventType.STEP_START:
            windows[entry.step_key] = [entry.timestamp, float("nan")]
        elif event.event_type in (dg.DagsterEventType.STEP_SUCCESS, dg.DagsterEventType.STEP_FAILURE):
            windows[entry.step_key][1] = entry.timestamp
            if event.event_type == dg.DagsterEventType.STEP_FAILURE:
                failed.append(entry.step_key)
    stages: dict[str, dict[str, float]] = {}
    for key, (start, end) in windows.items():
        stage = stages.setdefault(stage_of(key), {"seconds": 0.0, "peak_mb": float("nan")})
        stage["seconds"] += end - start
        stage["peak_mb"] = float(np.fmax(stage["peak_mb"], sampler.peak(start, end)))
    peak_kb = max(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
    return {
        "success": result.success,
        "total_s": total,
        "peak_mb": peak_kb / 1024,
        "stages": stages,
        "failed_steps": failed,
    }


# --- the table ------------------------------------------------------------------------------------------


def results_table(results: list[dict]) -> pd.DataFrame:
    """One row per (size, stage) plus a 'total' row per size; time per row relative to the smallest size."""
    rows = []
    for result in results:
        for stage in (*STAGE_ORDER, "total"):
            if stage == "total":
                seconds, peak = result["total_s"], result["peak_mb"]
            elif stage in result["stages"]:
                seconds, peak = result["stages"][stage]["seconds"], result["stages"][stage]["peak_mb"]
            else:
                continue
            rows.append({"rows": result["rows"], "stage": stage, "seconds": seconds, "peak_mb": peak,
                         "success": result["success"]})
    table = pd.DataFrame(rows)
    smallest = table["rows"].min()
    first = table[table["rows"] == smallest].set_index("stage")["seconds"] / smallest
    table["us_per_row"] = table["seconds"] / table["rows"] * 1e6
    table["per_row_vs_smallest"] = table["seconds"] / table["rows"] / table["stage"].map(first)
    return table


def markdown(table: pd.DataFrame) -> str:
    sizes = sorted(table["rows"].unique())
    stages = [s for s in (*STAGE_ORDER, "total") if s in set(table["stage"])]
    cell = table.set_index(["stage", "rows"])
    header = "| stage | " + " | ".join(f"{n:,} rows: s (per-row ratio) / peak MiB" for n in sizes) + " |"
    lines = [header, "|---|" + "---|" * len(sizes)]
    for stage in stages:
        cells = []
        for n in sizes:
            if (stage, n) not in cell.index:
                cells.append("-")
                continue
            row = cell.loc[(stage, n)]
            cells.append(f"{row['seconds']:.1f} ({row['per_row_vs_smallest']:.3g}) / {row['peak_mb']:,.0f}")
        lines.append(f"| {stage} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        cpu = next(line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                   if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    return (f"{cpu}, {os.cpu_count()} vCPU, {psutil.virtual_memory().total / 2**30:.0f} GiB, "
            f"load average {os.getloadavg()[0]:.1f} at the end (shared machine)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=list(SIZES))
    parser.add_argument("--time-budget", type=float, default=5.0, help="seconds of tuning per metric")
    parser.add_argument("--trials", type=int, default=2, help="Optuna trials per learner and metric")
    parser.add_argument("--out", type=Path, default=Path(__file__).resolve().parent / "results")
    parser.add_argument("--timeout", type=float, default=3600.0, help="seconds one size may take")
    parser.add_argument("--child", nargs=2, metavar=("DATA", "FOLDER"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    training = {"time_budget_s": args.time_budget, "n_trials": args.trials}
    if args.child:
        data, folder = map(Path, args.child)
        result = run_size(data, folder, training)
        (folder / "result.json").write_text(json.dumps(result))
        return

    args.out.mkdir(parents=True, exist_ok=True)
    results = []
    with tempfile.TemporaryDirectory(prefix="perfpredict-scaling-") as scratch:
        base = real_rows(Path(scratch))
        print(f"{len(base)} real rows resampled into SYNTHETIC rows (timing only)")
        for size in sorted(args.sizes):
            folder = Path(scratch) / f"rows-{size}"
            folder.mkdir()
            data = folder / "synthetic_benchmarks.parquet"
            synthetic_rows(base, size).to_parquet(data, index=False)
            command = [sys.executable, __file__, "--child", str(data), str(folder),
                       "--time-budget", str(args.time_budget), "--trials", str(args.trials)]
            try:
                subprocess.run(command, check=True, timeout=args.timeout)
            except subprocess.TimeoutExpired:
                print(f"{size:,} rows: over {args.timeout:.0f} s, stopped")
                break
            result = json.loads((folder / "result.json").read_text()) | {"rows": size}
            print(f"{size:,} rows: {result['total_s']:.1f} s, peak {result['peak_mb']:,.0f} MiB,"
                  f" {'ok' if result['success'] else 'FAILED ' + ', '.join(result['failed_steps'])}", flush=True)
            results.append(result)
            write_results(results, args)  # after every size, so a long run leaves what it measured


def write_results(results: list[dict], args: argparse.Namespace) -> None:
    table = results_table(results)
    table.to_csv(args.out / "pipeline_scaling.csv", index=False)
    text = (
        "# Pipeline scaling (SYNTHETIC rows, timing only)\n\n"
        f"Machine: {machine()}. Tuning: {args.time_budget:g} s and {args.trials} trials per metric.\n"
        "Cells: seconds (time per row / time per row at the smallest size) / peak MiB.\n\n"
        + markdown(table) + "\n"
    )
    (args.out / "pipeline_scaling.md").write_text(text)
    print(text, flush=True)


if __name__ == "__main__":
    main()
