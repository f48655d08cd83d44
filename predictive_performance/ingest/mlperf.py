"""Importer for MLPerf Inference v4.1's table of audited results (``summary_results.json``).

The file is a JSON list with one record per result: a system under test x benchmark x scenario.
One record becomes one canonical row; ``source_row`` is its place in the list (first record = 1).

What a record's figures mean, by scenario (MLPerf Inference rules):

- ``Offline`` and ``Server``: ``Performance_Result`` is throughput of the whole system in samples/s,
  queries/s (one sample per Server query) or tokens/s (LLM benchmarks; then items are tokens).
  The system chose its batch, so ``batch_size`` stays empty. ``Power_Result`` is the average power
  of the whole system at the wall in watts (``power_w``, ``power_scope`` ``system``).
- ``SingleStream``: one sample per query, ``Performance_Result`` is the 90th-percentile query
  latency in ms (``latency_kind`` ``query_p90``, ``batch_size`` 1). ``Power_Result`` is energy per
  query in millijoules, never watts: it becomes ``energy_per_item_j`` (J per sample), with
  ``power_scope`` ``system`` saying the meter was at the wall.
- ``MultiStream``: eight samples per query (``batch_size`` 8) and the metric is the 99th-percentile
  query latency (``latency_kind`` ``query_p99``), never stored as a p90; its ``Power_Result`` is
  energy per query like SingleStream's.

Devices: ``hardware_name`` is the ``Accelerator`` as the source spells it and ``num_devices`` is
``a#`` (accelerators per node) x ``Nodes``; the platform follows the vendor (NVIDIA, Jetson and
GH200 -> cuda, AMD -> rocm, Google TPU -> tpu, any other accelerator such as UntetherAI -> npu).
A CPU-only system has an empty ``Accelerator``: its device is the host ``Processor`` (platform cpu)
and ``num_devices`` is ``host_processors_per_node`` x ``Nodes`` (sockets).

``precision`` is the narrowest of the ``weight_data_types`` (a mixed "int8,fp16" is int8; int before
fp at the same width); ``task`` is the benchmark (``UsedModel`` without its ``-99`` / ``-99.9``
accuracy target: resnet50, bert, llama2-70b, ...); ``model_name`` is the ``Model`` field as spelled.

Skipped, counted in ``SourceTables.skipped`` (``read_summary`` gives the count per reason):

- ``open division``: ``Category`` other than closed; the model or its processing may differ from
  the benchmark's reference, so the figure does not describe the named model.
- ``inferred``: ``inferred`` = 1, a figure derived from another result, not measured.
- ``duplicate accuracy variant``: the ``-99`` and ``-99.9`` results of one system, benchmark and
  scenario that repeat one measurement (every figure and setting equal) are one row, named after the
  stricter target it met. Where the two variants' figures differ both are kept, and ``task`` then
  carries the accuracy target (``llama2-70b-99.9``) so the rows stay distinguishable.

Preview results (``Availability`` preview / rdi) are kept: they are audited measurements of
hardware not yet for sale; the availability is kept in ``hardware_description``. The file gives no
measurement date, so ``measured_at`` stays empty.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from predictive_performance.ingest.canonical import UnreadableFileError
from predictive_performance.ingest.sources import SourceFormat, SourceTables
from predictive_performance.ingest.validation import Reject
from predictive_performance.vocabulary import PRECISION_ALIASES

SOURCE = "mlperf-inference-v4.1"
DETECT_BYTES = 8192
# Keys of a result record, looked for in the head of a JSON file: cheap, and no other source has them.
MARKERS = ('"Scenario"', '"Performance_Result"', '"Performance_Units"')
REQUIRED_FIELDS = (
    "Category", "System", "Model", "UsedModel", "Scenario", "Performance_Result", "Performance_Units",
    "Accelerator", "a#", "Nodes", "Processor", "host_processors_per_node", "weight_data_types",
)
ACCURACY_TARGET = re.compile(r"-(?P<target>99(?:\.9)?)$")


@dataclass(frozen=True)
class Scenario:
    """What an MLPerf scenario's figures mean in canonical terms."""

    workload: str
    measure: str  # the canonical column of Performance_Result
    samples_per_query: int | None  # the query size; None where the system chose its batch
    latency_kind: str | None = None
    power_unit: str = "Watts"  # what Power_Result holds in this scenario


SCENARIOS: dict[str, Scenario] = {
    "Offline": Scenario("offline", "throughput", None),
    "Server": Scenario("server", "throughput", None),
    "SingleStream": Scenario("single_stream", "latency_ms", 1, "query_p90", "millijoules"),
    "MultiStream": Scenario("multi_stream", "latency_ms", 8, "query_p99", "millijoules"),
}
# Each Performance_Units value and the canonical column it measures, already in that column's unit.
PERFORMANCE_UNITS: dict[str, str] = {
    "Samples/s": "throughput",
    "Queries/s": "throughput",
    "Tokens/s": "throughput",
    "Latency (ms)": "latency_ms",
}
# The first word of an accelerator's name -> its platform; any other accelerator is an npu.
ACCELERATOR_PLATFORMS: dict[str, str] = {"nvidia": "cuda", "amd": "rocm", "google": "tpu", "tpu": "tpu"}
OTHER_ACCELERATOR = "npu"
NARROWEST_FIRST = ("int4", "fp4", "int8", "fp8", "bf16", "fp16", "fp32", "fp64")
# Fixed inputs of the closed benchmarks (MLPerf benchmark definitions); the others vary per sample.
BENCHMARK_INPUTS: dict[str, dict[str, int]] = {
    "resnet50": {"image_size": 224},
    "retinanet": {"image_size": 800},
    "bert": {"sequence_length": 384},
}


@dataclass
class Summary:
    """What ``read_summary`` found: the tables to load and the skipped records per reason."""

    tables: SourceTables
    skipped: Counter[str]


def is_mlperf_file(path: Path) -> bool:
    """A JSON list whose first records carry MLPerf's result keys."""
    if not (path.is_file() and path.suffix.lower() == ".json"):
        return False
    with path.open("rb") as handle:
        head = handle.read(DETECT_BYTES).decode("utf-8", errors="ignore")
    return head.lstrip().startswith("[") and all(marker in head for marker in MARKERS)


def is_mlperf(path: Path) -> bool:
    """A summary file, or a directory that holds one."""
    if path.is_dir():
        return any(is_mlperf_file(child) for child in path.iterdir())
    return is_mlperf_file(path)


def summary_files(path: Path) -> list[Path]:
    """Each summary file is one load; a directory's in name order."""
    files = sorted(child for child in path.iterdir() if is_mlperf_file(child)) if path.is_dir() else [path]
    if not files:
        raise UnreadableFileError(f"{path}: no MLPerf summary file (a JSON list of results like summary_results.json)")
    return files


def read_mlperf(path: Path) -> SourceTables:
    return read_summary(path).tables


def read_summary(path: Path) -> Summary:
    """Canonical rows for every closed, measured result of one summary file, duplicates collapsed."""
    label = path.name
    rows, rejects, skipped = [], [], Counter()
    for number, record in enumerate(load_records(path), start=1):
        reason = skip_reason(record)
        if reason:
            skipped[reason] += 1
            continue
        row, problems = to_row(number, record, label)
        if row:
            rows.append(row)
        rejects.extend(problems)
    frame, duplicates = collapse_variants(pd.DataFrame(rows))
    if duplicates:
        skipped["duplicate accuracy variant"] += duplicates
    tables = SourceTables(SOURCE, {str(path): frame}, rejects=rejects, skipped=sum(skipped.values()))
    return Summary(tables, skipped)


def load_records(path: Path) -> list:
    try:
        records = json.loads(path.read_text(encoding="utf-8"))
    except (ValueError, OSError) as error:
        raise UnreadableFileError(f"{path}: cannot be read as JSON: {error}") from error
    if not isinstance(records, list) or not records:
        raise UnreadableFileError(f"{path}: expected a non-empty JSON list of MLPerf results")
    return records


def skip_reason(record: object) -> str | None:
    """Why a record is not a measurement of the named model, or None; a malformed record is for ``to_row``."""
    if not isinstance(record, dict) or _missing(record.get("Category")):
        return None
    if str(record["Category"]).strip().lower() != "closed":
        return "open division"
    if str(record.get("inferred", 0)).strip().lower() in ("1", "true"):
        return "inferred"
    return None


def to_row(number: int, record: object, label: str) -> tuple[dict | None, list[Reject]]:
    """One canonical row (raw figures, for validation to type) or the reasons the record is refused."""
    if not isinstance(record, dict):
        return None, [Reject(label, number, "*", "not a JSON object")]
    missing = [name for name in REQUIRED_FIELDS if name not in record or record[name] is None]
    if missing:
        return None, [Reject(label, number, name, "missing field") for name in missing]
    rejects: list[Reject] = []
    scenario = SCENARIOS.get(str(record["Scenario"]).strip())
    if scenario is None:
        reason = f"unknown scenario {record['Scenario']!r}; expected one of {', '.join(SCENARIOS)}"
        rejects.append(Reject(label, number, "Scenario", reason))
    measure = _measure(number, record, scenario, label, rejects)
    device, devices = _device(number, record, label, rejects)
    power = _power(number, record, scenario, label, rejects) if scenario else {}
    if rejects:
        return None, rejects
    benchmark = ACCURACY_TARGET.sub("", str(record["UsedModel"]).strip())
    row = {
        "source_row": number,
        "model_name": str(record["Model"]).strip(),
        **device,
        "num_devices": devices,
        "batch_size": scenario.samples_per_query,
        "precision": narrowest_precision(record["weight_data_types"]),
        "mode": "inference",
        "workload": scenario.workload,
        "task": benchmark,
        **BENCHMARK_INPUTS.get(benchmark, {}),
        measure: record["Performance_Result"],
        "latency_kind": scenario.latency_kind,
        **power,
        "source": SOURCE,
        "system_name": str(record["System"]).strip(),
        "framework": _text(record.get("Software")),
        "hardware_description": _description(record),
        # kept only until the accuracy variants are collapsed
        "submission": _text(record.get("ID")),
        "variant": str(record["UsedModel"]).strip(),
    }
    return row, []


def narrowest_precision(weight_data_types: object) -> str:
    """The narrowest weight type; a spelling the vocabulary does not know is left whole for validation to refuse."""
    types = [PRECISION_ALIASES.get(t, t) for t in re.split(r"[,\s/]+", str(weight_data_types).strip().lower()) if t]
    if not types or not all(t in NARROWEST_FIRST for t in types):
        return str(weight_data_types)
    return min(types, key=NARROWEST_FIRST.index)


def collapse_variants(rows: pd.DataFrame) -> tuple[pd.DataFrame, int]:
    """One row per repeated measurement; where variants differ, ``task`` names each one's accuracy target."""
    if rows.empty:
        return rows, 0
    content = [c for c in rows.columns if c not in ("source_row", "model_name", "variant")]
    target = rows["variant"].str.extract(ACCURACY_TARGET)["target"].astype(float).fillna(0)
    strictest_first = rows.loc[target.sort_values(ascending=False, kind="stable").index]
    kept = strictest_first.drop_duplicates(subset=content).sort_index()
    setting = ["submission", "system_name", "hardware_description", "workload", "task"]
    varies = kept.groupby(setting, dropna=False)["variant"].transform("nunique") > 1
    kept["task"] = kept["task"].where(~varies, kept["variant"])
    return kept.drop(columns=["submission", "variant"]).reset_index(drop=True), len(rows) - len(kept)


def _measure(number: int, record: dict, scenario: Scenario | None, label: str, rejects: list[Reject]) -> str | None:
    """The canonical column that Performance_Result fills, named by its unit."""
    units = str(record["Performance_Units"]).strip()
    measure = PERFORMANCE_UNITS.get(units)
    if measure is None:
        reason = f"unknown unit {units!r}; expected one of {', '.join(PERFORMANCE_UNITS)}"
        rejects.append(Reject(label, number, "Performance_Units", reason))
    elif scenario and measure != scenario.measure:
        reason = f"{units!r} is not the metric of scenario {record['Scenario']!r}"
        rejects.append(Reject(label, number, "Performance_Units", reason))
    return measure


def _device(number: int, record: dict, label: str, rejects: list[Reject]) -> tuple[dict, object]:
    """The device columns and ``num_devices``: the accelerators, or the host CPUs of a CPU-only system."""
    accelerator = _text(record["Accelerator"])
    nodes = _count(number, record, "Nodes", label, rejects)
    if accelerator:
        vendor = accelerator.split()[0].lower()
        platform = ACCELERATOR_PLATFORMS.get(vendor, OTHER_ACCELERATOR)
        per_node = _count(number, record, "a#", label, rejects)
        device = {"hardware_platform": platform, "hardware_name": accelerator}
    else:
        per_node = _count(number, record, "host_processors_per_node", label, rejects)
        device = {"hardware_platform": "cpu", "hardware_name": _text(record["Processor"])}
    return device, (per_node * nodes if per_node and nodes else None)


def _power(number: int, record: dict, scenario: Scenario, label: str, rejects: list[Reject]) -> dict:
    """Wall power in W, or energy per query in mJ as J per sample; never one for the other."""
    value = record.get("Power_Result")
    if _missing(value):
        if record.get("has_power") is True:
            rejects.append(Reject(label, number, "Power_Result", "missing field (has_power is true)"))
        return {}
    problems = []
    units = _text(record.get("Power_Units"))
    if units != scenario.power_unit:
        reason = f"unknown power unit {units!r} for scenario {record['Scenario']!r}; expected {scenario.power_unit!r}"
        problems.append(Reject(label, number, "Power_Units", reason))
    amount = _number(value)
    if amount is None or amount <= 0:
        problems.append(Reject(label, number, "Power_Result", f"not a positive number: {value!r}"))
    rejects.extend(problems)
    if problems:
        return {}
    if scenario.samples_per_query is None:
        return {"power_w": amount, "power_scope": "system"}
    return {"energy_per_item_j": amount / 1000 / scenario.samples_per_query, "power_scope": "system"}


def _count(number: int, record: dict, name: str, label: str, rejects: list[Reject]) -> int | None:
    value = _number(record[name])
    if value is None or value <= 0 or value % 1:
        rejects.append(Reject(label, number, name, f"not a positive whole number: {record[name]!r}"))
        return None
    return int(value)


def _number(value: object) -> float | None:
    if isinstance(value, bool):
        return None
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def _description(record: dict) -> str:
    parts = {
        "platform": record.get("Platform"), "host": record.get("Processor"), "nodes": record.get("Nodes"),
        "suite": record.get("Suite"), "availability": record.get("Availability"), "submitter": record.get("Submitter"),
    }
    return "; ".join(f"{key} {_text(value)}" for key, value in parts.items() if _text(value))


def _text(value: object) -> str:
    return "" if _missing(value) else str(value).strip()


def _missing(value: object) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


FORMAT = SourceFormat("mlperf", detect=is_mlperf, read=read_mlperf, loads=summary_files)
