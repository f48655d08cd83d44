"""CPU and wall seconds of the commands a user types first, each in a fresh process.

    python benchmarks/cli_speed.py [--repeats 5] [--label now] [--out benchmarks/results] [--cached-bytecode]

Commands timed: ``perfpredict --help``, ``perfpredict predict`` on a 3-row CSV, ``perfpredict
recommend gpt2`` and ``perfpredict status``. They read the warehouse ``$BENCHMARK_DB_PATH`` and the
models under ``$PERFPREDICT_ARTIFACTS`` when both are set; otherwise the script builds a tiny
trained warehouse first (the prediction tests' simulated GPUs and catalog marts, XGBoost +
LightGBM with the test budget), so the figures do not depend on a full ``perfpredict run``.

CPU seconds are user + system of the child alone (``os.wait4``), so the other work of a shared
machine does not count; wall seconds include waiting for it. Each command runs ``--repeats``
times and the median is kept. The table (markdown) goes to stdout and to
``<out>/cli_speed_<label>.md``.

Python compiles every module it imports unless a bytecode cache holds it. ``pip install`` writes
one, but an environment with ``PYTHONDONTWRITEBYTECODE=1`` and an installation without
``__pycache__`` compiles pandas, scikit-learn and the boosting libraries anew on every command.
``--cached-bytecode`` measures what an ordinary installation costs: the children write and read
a bytecode cache in a scratch folder (``PYTHONPYCACHEPREFIX``), warmed by one unmeasured run.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from predictive_performance.settings import ARTIFACTS_VARIABLE, DB_PATH_VARIABLE  # noqa: E402

PERFPREDICT = Path(sys.executable).with_name("perfpredict")
CONFIGURATIONS = (
    "model_name,hardware_name,batch_size,precision,mode,sequence_length\n"
    "bert-base-uncased,NVIDIA A100 80GB SXM4,8,fp16,inference,128\n"
    "gpt2,NVIDIA L4,1,fp32,inference,128\n"
    "resnet-50,NVIDIA H100 80GB SXM5,32,fp16,training,\n"
)


@dataclass(frozen=True)
class Timing:
    """The median CPU and wall seconds of one command over its repeats."""

    command: str
    cpu_s: float
    wall_s: float
    repeats: int


def timed_run(argv: list[str], env: dict[str, str]) -> tuple[float, float]:
    """CPU (user + sys of the child) and wall seconds of one run; a failed run stops the benchmark."""
    started = time.perf_counter()
    with subprocess.Popen(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE) as child:
        stderr = child.stderr.read().decode()  # to the end, so a chatty child cannot block on a full pipe
        _, status, usage = os.wait4(child.pid, 0)
        child.returncode = os.waitstatus_to_exitcode(status)
    wall = time.perf_counter() - started
    if child.returncode != 0:
        raise SystemExit(f"{' '.join(argv)} exited {child.returncode}: {stderr.strip()}")
    return usage.ru_utime + usage.ru_stime, wall


def measure(label: str, argv: list[str], env: dict[str, str], repeats: int, warm_up: bool) -> Timing:
    if warm_up:
        timed_run(argv, env)
    runs = [timed_run(argv, env) for _ in range(repeats)]
    return Timing(
        label, statistics.median(cpu for cpu, _ in runs), statistics.median(wall for _, wall in runs), repeats
    )


def build_tiny_warehouse(folder: Path) -> dict[str, str]:
    """The prediction tests' world: catalog marts and three trained metrics, in ``folder``."""
    from predictive_performance.modeling import publish, train_and_register
    from predictive_performance.warehouse import Warehouse
    from tests.factories import CONFIG, seed_catalogs, simulate, write_marts

    models, hardware = seed_catalogs()
    frame = simulate(models, hardware)
    db_path, artifacts = folder / "benchmarks.duckdb", folder / "artifacts"
    write_marts(db_path, models, hardware, frame)
    versions = train_and_register(frame, CONFIG, ["throughput", "memory_mb"], artifacts, evaluate=False)
    publish(Warehouse(db_path), versions, {})
    return {DB_PATH_VARIABLE: str(db_path), ARTIFACTS_VARIABLE: str(artifacts)}


def commands(folder: Path) -> dict[str, list[str]]:
    source = folder / "configs.csv"
    source.write_text(CONFIGURATIONS)
    output = folder / "predictions.csv"
    return {
        "perfpredict --help": [str(PERFPREDICT), "--help"],
        "perfpredict predict (3-row CSV)": [str(PERFPREDICT), "predict", "--input", str(source), "--output", str(output)],
        "perfpredict recommend gpt2": [str(PERFPREDICT), "recommend", "gpt2", "--batch-size", "8"],
        "perfpredict status": [str(PERFPREDICT), "status"],
    }


def markdown(timings: list[Timing], label: str) -> str:
    lines = [
        f"# CLI speed ({label})",
        "",
        "| command | CPU s (median) | wall s (median) | runs |",
        "|---|---:|---:|---:|",
    ]
    lines += [f"| `{t.command}` | {t.cpu_s:.2f} | {t.wall_s:.2f} | {t.repeats} |" for t in timings]
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--label", default="now", help="names the results file, e.g. before / after")
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results")
    parser.add_argument("--cached-bytecode", action="store_true", help="children keep a bytecode cache (see above)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="cli_speed_") as scratch:
        folder = Path(scratch)
        given = {name: os.environ[name] for name in (DB_PATH_VARIABLE, ARTIFACTS_VARIABLE) if os.environ.get(name)}
        paths = given if len(given) == 2 else build_tiny_warehouse(folder)
        env = {**os.environ, **paths, "COLUMNS": "200"}
        if args.cached_bytecode:
            env.pop("PYTHONDONTWRITEBYTECODE", None)
            env["PYTHONPYCACHEPREFIX"] = str(folder / "pycache")
        runs = commands(folder).items()
        timings = [measure(label, argv, env, args.repeats, args.cached_bytecode) for label, argv in runs]
    bytecode = "bytecode cached" if args.cached_bytecode else f"PYTHONDONTWRITEBYTECODE={os.environ.get('PYTHONDONTWRITEBYTECODE', '')}"
    table = markdown(timings, f"{args.label}, {bytecode}")
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / f"cli_speed_{args.label}.md").write_text(table)
    print(table)


if __name__ == "__main__":
    main()
