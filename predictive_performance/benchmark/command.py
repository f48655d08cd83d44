"""``perfpredict benchmark``: plan, measure on this machine, ingest as source ``local-runner``."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from predictive_performance.benchmark.configuration import BenchmarkConfig
from predictive_performance.benchmark.hardware import HardwareInfo, detect_hardware
from predictive_performance.benchmark.plan import load_configs, plan_configurations
from predictive_performance.benchmark.results import HIGH_CV_THRESHOLD, SOURCE, RunOutcome
from predictive_performance.benchmark.runner import BenchmarkRunner
from predictive_performance.benchmark.timing import DEFAULT_REPEATS


@dataclass
class BenchmarkReport:
    """What one ``perfpredict benchmark`` run did."""

    plan_source: str  # "active_learning.queue", "coverage" or the configs file
    hardware_name: str
    planned: int
    measured: int
    failed: int
    skipped: int
    load_id: str | None
    rows_accepted: int
    seconds: float
    configurations: list[dict] = field(default_factory=list)  # one summary per configuration
    flagged: list[str] = field(default_factory=list)  # labels with throughput_cv > HIGH_CV_THRESHOLD
    rejects: list[str] = field(default_factory=list)

    def summary(self) -> str:
        lines = [
            f"Benchmarked {self.planned} configuration(s) from {self.plan_source} on {self.hardware_name} "
            f"in {self.seconds:.0f} s: {self.measured} measured, {self.failed} failed, {self.skipped} skipped.",
        ]
        if self.load_id:
            lines.append(f"Stored {self.rows_accepted} row(s) as load {self.load_id} (source {SOURCE}).")
        elif self.planned:
            lines.append("Nothing stored.")
        else:
            lines.append("Nothing to measure: every planned configuration is already in the warehouse.")
        for item in self.configurations:
            if item["status"] == "measured":
                cv = item["throughput_cv"]
                cv_text = f"cv {cv:.1%}" if cv is not None else "cv n/a"
                flag = "  <- HIGH SPREAD" if item["flagged"] else ""
                lines.append(
                    f"  ok      {item['label']}: {item['throughput']:.2f} items/s, {item['latency_ms']:.2f} ms/batch, {cv_text}{flag}"
                )
            else:
                lines.append(f"  {item['status']:<7} {item['label']}: {item['reason']}")
        if self.flagged:
            lines.append(
                f"{len(self.flagged)} measurement(s) spread more than {HIGH_CV_THRESHOLD:.0%} between repeats "
                "(throughput_cv); treat them with care or measure again on a quieter machine."
            )
        for reject in self.rejects:
            lines.append(f"  rejected: {reject}")
        return "\n".join(lines)


def summarise(outcome: RunOutcome, planned: list[BenchmarkConfig]) -> list[dict]:
    items = []
    for m in outcome.measurements:
        items.append(
            {
                "label": m.config.label,
                "status": "measured",
                "throughput": m.throughput,
                "latency_ms": m.latency_ms,
                "throughput_cv": m.throughput_cv,
                "flagged": m.flagged,
                "cpu_contention": m.cpu_contention,
                "reason": None,
            }
        )
    for record in outcome.failures.to_dict("records"):
        label = BenchmarkConfig.from_mapping(record).label
        items.append({"label": label, "status": "failed", "reason": record["error"], "flagged": False})
    for record in outcome.skipped.to_dict("records"):
        label = BenchmarkConfig.from_mapping(record).label
        items.append({"label": label, "status": "skipped", "reason": record["reason"], "flagged": False})
    return items


def run_benchmark_command(
    budget: int | None,
    configs_path: Path | None,
    warehouse,
    repeats: int = DEFAULT_REPEATS,
    *,
    hardware: HardwareInfo | None = None,
    progress: bool | None = None,
    **runner_options,
) -> BenchmarkReport:
    """Measure the planned (or given) configurations and ingest them into ``warehouse``.

    ``configs_path``: a CSV / Parquet / JSON file of configurations; ``budget`` caps how many are
    run (all of the file, or ``plan.DEFAULT_BUDGET`` planned ones, when None).
    Without a file: the top of ``active_learning.queue`` when it exists, else a coverage plan.
    """
    from predictive_performance.ingest import IngestError, ingest_frame

    hardware = hardware or detect_hardware()
    if configs_path is not None:
        configs = load_configs(configs_path)
        if budget is not None:
            configs = configs[:budget]
        plan_source = str(configs_path)
    else:
        configs, plan_source = plan_configurations(warehouse, hardware, budget)
    runner = BenchmarkRunner(hardware=hardware, repeats=repeats, progress=progress, **runner_options)
    outcome = runner.run(configs) if configs else None
    if outcome is None:
        return BenchmarkReport(plan_source, hardware.cpu.hardware_name, 0, 0, 0, 0, None, 0, 0.0)
    load_id = None
    accepted = 0
    rejects: list[str] = []
    if not outcome.results.empty or not outcome.failures.empty:
        failures = outcome.failures if not outcome.failures.empty else None
        try:
            report = ingest_frame(outcome.results, warehouse, source=SOURCE, fmt="runner", path=None, failures=failures)
        except IngestError as error:  # keep the good rows, say which were refused
            rejects = [str(r) for r in error.report.rejects]
            report = ingest_frame(
                outcome.results,
                warehouse,
                source=SOURCE,
                fmt="runner",
                path=None,
                failures=failures,
                allow_partial=True,
            )
        load_id = report.load_id
        accepted = report.rows_accepted
    items = summarise(outcome, configs)
    return BenchmarkReport(
        plan_source=plan_source,
        hardware_name=hardware.cpu.hardware_name,
        planned=len(configs),
        measured=len(outcome.results),
        failed=len(outcome.failures),
        skipped=len(outcome.skipped),
        load_id=load_id,
        rows_accepted=accepted,
        seconds=outcome.seconds,
        configurations=items,
        flagged=[item["label"] for item in items if item.get("flagged")],
        rejects=rejects,
    )
