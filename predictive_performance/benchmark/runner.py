"""Measure configurations: warm-up, repeated timed runs, spread, memory, power, failures.

One configuration is measured like this:

1. the runtime's model is prepared (ONNX export and quantization are files, not counted) and
   loaded once per (model, platform, precision, mode, image size) group; configurations of a
   group run from the cheapest to the dearest;
2. ``warmup`` untimed iterations (the first one also pays for lazy initialisation);
3. ``repeats`` timed repeats, each running iterations until at least ``min_repeat_s`` seconds
   or ``max_iterations`` iterations; each repeat gives a throughput (items/s);
4. ``throughput`` is the mean over repeats, ``throughput_cv`` their coefficient of variation
   (sample standard deviation / mean); latency mean, p50 and p90 are over every timed
   iteration; a row with ``throughput_cv > HIGH_CV_THRESHOLD`` is flagged;
5. ``memory_mb`` is the peak resident set size of the process while the configuration ran
   (model loaded, inputs made, warm-up and timed runs) minus the resident set size before the
   model was loaded: the memory the configuration added. Peak RSS comes from the kernel's
   high-water mark (``VmHWM``, reset through ``/proc/self/clear_refs``), or from sampling RSS
   where that is not allowed;
6. ``power_w`` is the average package power from RAPL over the timed repeats, and null where
   the machine exposes no readable counter.

A configuration that fails (unknown model, unsupported precision, an error while running,
memory it would not get) becomes a row of ``failures`` with the reason; the batch goes on.
"""

from __future__ import annotations

import ctypes
import gc
import math
import os
import shutil
import statistics
import sys
import tempfile
import threading
import time
import traceback
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd

from predictive_performance.benchmark.architectures import (
    ArchitectureSpec,
    UnknownArchitectureError,
    canonical_model_name,
    get_architecture,
)
from predictive_performance.benchmark.energy import EnergyMeter
from predictive_performance.benchmark.hardware import HardwareInfo, detect_hardware
from predictive_performance.benchmark.runtimes import UnsupportedConfiguration, make_backend
from predictive_performance.schema import RESULT_COLUMNS

SOURCE = "local-runner"
HIGH_CV_THRESHOLD = 0.15  # throughput_cv above this flags a measurement as too noisy to trust
DEFAULT_REPEATS = 3
DEFAULT_WARMUP = 2
DEFAULT_MIN_REPEAT_S = 0.3
DEFAULT_MAX_ITERATIONS = 200
MEMORY_SAFETY_FRACTION = 0.8  # refuse a configuration predicted to need more of the free memory
# Other processes' share of the machine's CPU time during a timed run above which the run is
# repeated after a pause (a 2-vCPU machine shared with other work slows multi-threaded kernels
# many-fold without raising the spread between repeats).
MAX_FOREIGN_CPU_SHARE = 0.25
CONTENTION_RETRIES = 2
CONTENTION_WAIT_S = 3.0

FAILURE_COLUMNS = (
    "model_name",
    "hardware_platform",
    "hardware_name",
    "batch_size",
    "precision",
    "mode",
    "sequence_length",
    "image_size",
    "error",
    "source",
    "measured_at",
)
SKIPPED_COLUMNS = (
    "model_name",
    "hardware_platform",
    "batch_size",
    "precision",
    "mode",
    "sequence_length",
    "image_size",
    "reason",
)


@dataclass(frozen=True)
class BenchmarkConfig:
    """One configuration to measure (canonical names; see DESIGN.md section 2)."""

    model_name: str
    hardware_platform: str = "cpu"
    batch_size: int = 1
    precision: str = "fp32"
    mode: str = "inference"
    sequence_length: int | None = None
    image_size: int | None = None

    @classmethod
    def from_mapping(cls, row: Mapping) -> BenchmarkConfig:
        def optional_int(value):
            if value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NA:
                return None
            return int(value)

        return cls(
            model_name=str(row["model_name"]),
            hardware_platform=str(row.get("hardware_platform") or "cpu").lower(),
            batch_size=int(row.get("batch_size") or 1),
            precision=str(row.get("precision") or "fp32").lower(),
            mode=str(row.get("mode") or "inference").lower(),
            sequence_length=optional_int(row.get("sequence_length")),
            image_size=optional_int(row.get("image_size")),
        )

    def resolved(self) -> BenchmarkConfig:
        """Catalog model name and the input sizes the architecture uses (defaults filled in).

        Raises ``UnknownArchitectureError`` for a model the runner cannot build.
        """
        spec = get_architecture(self.model_name)
        sequence = self.sequence_length if spec.uses_sequence_length else None
        image = self.image_size if spec.uses_image_size else None
        if spec.uses_sequence_length and sequence is None:
            sequence = spec.default_sequence_length()
        if spec.uses_image_size and image is None:
            image = spec.default_image_size()
        return replace(self, model_name=spec.name, sequence_length=sequence, image_size=image)

    @property
    def label(self) -> str:
        shape = f" s{self.sequence_length}" if self.sequence_length else ""
        shape += f" {self.image_size}px" if self.image_size else ""
        return f"{self.model_name} {self.hardware_platform} {self.precision} {self.mode} b{self.batch_size}{shape}"

    def as_dict(self) -> dict:
        return {
            "model_name": self.model_name,
            "hardware_platform": self.hardware_platform,
            "batch_size": self.batch_size,
            "precision": self.precision,
            "mode": self.mode,
            "sequence_length": self.sequence_length,
            "image_size": self.image_size,
        }


@dataclass
class Measurement:
    config: BenchmarkConfig
    throughput: float
    throughput_cv: float | None
    latency_ms: float
    latency_p50_ms: float
    latency_p90_ms: float
    memory_mb: float | None
    power_w: float | None
    repeats: int
    iterations: int
    framework: str
    measured_at: datetime
    seconds: float  # wall time spent on this configuration, warm-up included
    cpu_contention: float | None = None  # other processes' share of the CPU during the timed runs
    attempts: int = 1

    @property
    def flagged(self) -> bool:
        return self.throughput_cv is not None and self.throughput_cv > HIGH_CV_THRESHOLD


@dataclass
class RunOutcome:
    results: pd.DataFrame
    failures: pd.DataFrame
    skipped: pd.DataFrame
    measurements: list[Measurement] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def flagged(self) -> pd.DataFrame:
        if self.results.empty:
            return self.results
        return self.results[self.results["throughput_cv"] > HIGH_CV_THRESHOLD]


class SkipConfiguration(Exception):
    """Not measured on purpose (time cap or budget); not a failure of the configuration."""


# --------------------------------------------------------------------------------------------
# Memory
# --------------------------------------------------------------------------------------------

_LIBC = None


def release_memory() -> None:
    """Collect garbage and hand freed heap pages back to the OS, so RSS baselines are honest."""
    global _LIBC
    gc.collect()
    if sys.platform.startswith("linux"):
        try:
            if _LIBC is None:
                _LIBC = ctypes.CDLL("libc.so.6")
            _LIBC.malloc_trim(0)
        except (OSError, AttributeError):
            pass


def current_rss_bytes() -> int:
    try:
        import psutil

        return psutil.Process().memory_info().rss
    except ImportError:
        return _status_kb("VmRSS") * 1024


def _status_kb(key: str) -> int:
    with open("/proc/self/status") as handle:
        for line in handle:
            if line.startswith(key + ":"):
                return int(line.split()[1])
    raise OSError(f"{key} not in /proc/self/status")


class PeakMemory:
    """Peak RSS since ``reset()``: the kernel's VmHWM where it can be reset, else a sampler."""

    SAMPLE_INTERVAL_S = 0.002

    def __init__(self) -> None:
        self.kernel = self._can_reset_hwm()
        self._peak = 0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @staticmethod
    def _can_reset_hwm() -> bool:
        try:
            with open("/proc/self/clear_refs", "w") as handle:
                handle.write("5")
            _status_kb("VmHWM")
            return True
        except OSError:
            return False

    def reset(self) -> None:
        self.stop()
        if self.kernel:
            with open("/proc/self/clear_refs", "w") as handle:
                handle.write("5")
            return
        self._peak = current_rss_bytes()
        self._stop.clear()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()

    def _sample(self) -> None:
        while not self._stop.wait(self.SAMPLE_INTERVAL_S):
            self._peak = max(self._peak, current_rss_bytes())

    def stop(self) -> None:
        if self._thread is not None:
            self._stop.set()
            self._thread.join()
            self._thread = None

    def peak_bytes(self) -> int:
        if self.kernel:
            return _status_kb("VmHWM") * 1024
        self.stop()
        return max(self._peak, current_rss_bytes())


class CpuContention:
    """Share of the machine's CPU time used by other processes between ``start`` and ``stop``
    (from /proc/stat and /proc/self/stat); None where those files do not exist."""

    def __init__(self) -> None:
        self._start: tuple[float, float, float] | None = None
        self.share: float | None = None

    @staticmethod
    def _sample() -> tuple[float, float, float] | None:
        try:
            with open("/proc/stat") as handle:
                fields = handle.readline().split()[1:]
            busy = sum(int(v) for i, v in enumerate(fields[:8]) if i not in (3, 4))  # all but idle, iowait
            with open("/proc/self/stat") as handle:
                own = handle.read().rsplit(")", 1)[1].split()
            mine = int(own[11]) + int(own[12])  # utime + stime of every thread
            return float(busy), float(mine), time.perf_counter()
        except (OSError, ValueError, IndexError):
            return None

    def start(self) -> None:
        self._start = self._sample()

    def stop(self) -> float | None:
        end = self._sample()
        if self._start is None or end is None:
            self.share = None
            return None
        ticks = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
        capacity = (end[2] - self._start[2]) * ticks * (os.cpu_count() or 1)
        foreign = (end[0] - self._start[0]) - (end[1] - self._start[1])
        self.share = max(foreign, 0.0) / capacity if capacity > 0 else None
        return self.share


def estimated_activation_bytes(spec: ArchitectureSpec, config: BenchmarkConfig) -> float:
    """A deliberately generous guess of the activations, only to refuse absurd configurations
    before the kernel's out-of-memory killer ends the whole process."""
    positions = spec.positions(config.sequence_length, config.image_size)
    per_position = 64 * 1024  # a hidden size of 1024 in fp32, 16 live buffers
    attention = 16 * positions**2 * 4 if spec.modality != "vision" or spec.family in ("vit", "deit") else 0.0
    factor = 3.0 if config.mode == "training" else 1.0
    return factor * config.batch_size * (positions * per_position + attention)


# --------------------------------------------------------------------------------------------
# The runner
# --------------------------------------------------------------------------------------------


class BenchmarkRunner:
    """Measures configurations on this machine; see the module docstring for the method.

    ``max_iteration_s``: skip (not fail) a configuration whose single iteration is predicted,
    from the cheaper configurations of its group, to take longer than this.
    ``time_budget_s``: skip whatever is left once the run has taken this long.
    ``on_result``: called with each ``Measurement`` or failure dict as it happens (checkpoints).
    """

    def __init__(
        self,
        hardware: HardwareInfo | None = None,
        repeats: int = DEFAULT_REPEATS,
        warmup: int = DEFAULT_WARMUP,
        min_repeat_s: float = DEFAULT_MIN_REPEAT_S,
        max_iterations: int = DEFAULT_MAX_ITERATIONS,
        max_iteration_s: float | None = None,
        time_budget_s: float | None = None,
        threads: int | None = None,
        progress: bool | None = None,
        workdir: Path | None = None,
        on_result: Callable[[object], None] | None = None,
        contention_retries: int = CONTENTION_RETRIES,
        contention_wait_s: float = CONTENTION_WAIT_S,
    ) -> None:
        if repeats < 1:
            raise ValueError("repeats must be at least 1")
        self.hardware = hardware or detect_hardware()
        self.repeats = repeats
        self.warmup = max(0, warmup)
        self.min_repeat_s = min_repeat_s
        self.max_iterations = max(1, max_iterations)
        self.max_iteration_s = max_iteration_s
        self.time_budget_s = time_budget_s
        self.threads = threads or self.hardware.cpu.vcpus
        self.progress = sys.stderr.isatty() if progress is None else progress
        self.workdir = workdir
        self.on_result = on_result
        self.memory = PeakMemory()
        self.contention_retries = max(0, contention_retries)
        self.contention_wait_s = contention_wait_s

    # -- public ---------------------------------------------------------------------------

    def run(self, configs: Iterable[BenchmarkConfig | Mapping]) -> RunOutcome:
        started = time.perf_counter()
        configs = [c if isinstance(c, BenchmarkConfig) else BenchmarkConfig.from_mapping(c) for c in configs]
        measurements: list[Measurement] = []
        failures: list[dict] = []
        skipped: list[dict] = []
        groups, unresolved = self._group(configs)
        for config, error in unresolved:
            failures.append(self._failure(config, error))
            self._emit(failures[-1])
        own_workdir = self.workdir is None
        workdir = Path(tempfile.mkdtemp(prefix="perfpredict-bench-")) if own_workdir else Path(self.workdir)
        bar = _progress_bar(len(configs) - len(unresolved), self.progress)
        try:
            for key, members in groups.items():
                self._run_group(key, members, workdir, started, bar, measurements, failures, skipped)
        finally:
            bar.close()
            if own_workdir:
                shutil.rmtree(workdir, ignore_errors=True)
        return RunOutcome(
            results=self.results_frame(measurements),
            failures=_frame(failures, FAILURE_COLUMNS),
            skipped=_frame(skipped, SKIPPED_COLUMNS),
            measurements=measurements,
            seconds=time.perf_counter() - started,
        )

    def results_frame(self, measurements: list[Measurement]) -> pd.DataFrame:
        return results_frame(measurements, self.hardware)

    # -- grouping -------------------------------------------------------------------------

    def _group(self, configs: list[BenchmarkConfig]):
        groups: dict[tuple, list[BenchmarkConfig]] = {}
        unresolved: list[tuple[BenchmarkConfig, str]] = []
        for config in configs:
            try:
                resolved = config.resolved()
                spec = get_architecture(resolved.model_name)
                spec.check_shape(resolved.sequence_length, resolved.image_size)
                if resolved.batch_size < 1:
                    raise ValueError(f"batch_size must be positive, got {resolved.batch_size}")
            except (UnknownArchitectureError, ValueError) as error:
                unresolved.append((config, f"{type(error).__name__}: {error}"))
                continue
            image_key = resolved.image_size if spec.uses_image_size and not spec.image_size_agnostic else None
            key = (resolved.model_name, resolved.hardware_platform, resolved.precision, resolved.mode, image_key)
            groups.setdefault(key, []).append(resolved)
        for key, members in groups.items():
            spec = get_architecture(key[0])
            members.sort(
                key=lambda c: (spec.approx_gflops(c.batch_size, c.sequence_length, c.image_size), c.batch_size)
            )
        return groups, unresolved

    def _run_group(self, key, members, workdir, started, bar, measurements, failures, skipped) -> None:
        model_name, platform, precision, mode, image_size = key
        spec = get_architecture(model_name)
        if not self.hardware.supports(platform, precision):
            info = next((p for p in self.hardware.platforms if p.platform == platform), None)
            if info is None or not info.available:
                why = info.reason if info is not None else "the local runner does not drive it"
                reason = f"platform {platform!r} is not available on this machine ({why})"
            else:
                reason = f"{platform} on this machine runs {', '.join(info.precisions)}, not {precision}"
            for config in members:
                failures.append(self._failure(config, f"UnsupportedConfiguration: {reason}"))
                self._emit(failures[-1])
                bar.update(1)
            return
        backend = None
        reference: tuple[float, float] | None = None  # (cost units, seconds per iteration)
        memory_reference: tuple[float, float] | None = None  # (activation estimate, measured MB above weights)
        baseline = 0
        loaded_mb = 0.0
        try:
            for index, config in enumerate(members):
                bar.set_postfix_str(config.label[:60])
                if self.time_budget_s is not None and time.perf_counter() - started > self.time_budget_s:
                    skipped.append(self._skip(config, f"time budget of {self.time_budget_s:.0f} s used up"))
                    bar.update(1)
                    continue
                cost = spec.approx_gflops(config.batch_size, config.sequence_length, config.image_size)
                if self.max_iteration_s is not None and reference is not None:
                    predicted = reference[1] * cost / reference[0]
                    if predicted > self.max_iteration_s:
                        skipped.append(
                            self._skip(
                                config,
                                f"one iteration predicted at {predicted:.1f} s > cap {self.max_iteration_s:.1f} s",
                            )
                        )
                        bar.update(1)
                        continue
                try:
                    self._check_memory(spec, config, memory_reference, loaded_mb)
                    if backend is None:
                        build_image = image_size if image_size is not None else members[0].image_size
                        try:
                            backend = make_backend(platform, spec, build_image, precision, mode, workdir, self.threads)
                            backend.prepare()
                            release_memory()
                            baseline = current_rss_bytes()
                            self.memory.reset()
                            backend.load()
                        except UnsupportedConfiguration:
                            raise
                        except Exception as error:  # noqa: BLE001 - the group cannot run: say why
                            raise UnsupportedConfiguration(_describe(error)) from error
                        release_memory()
                        loaded_mb = max(current_rss_bytes() - baseline, 0) / 2**20
                    measurement = self._measure(backend, config, baseline)
                except SkipConfiguration as skip:
                    skipped.append(self._skip(config, str(skip)))
                    bar.update(1)
                    continue
                except (UnsupportedConfiguration, UnknownArchitectureError) as error:
                    # the whole group shares the cause (export, quantization, precision)
                    for rest in members[index:]:
                        failures.append(self._failure(rest, f"{type(error).__name__}: {error}"))
                        self._emit(failures[-1])
                        bar.update(1)
                    return
                except Exception as error:  # noqa: BLE001 - recorded, the batch goes on
                    failures.append(self._failure(config, _describe(error)))
                    self._emit(failures[-1])
                    bar.update(1)
                    release_memory()
                    continue
                measurements.append(measurement)
                self._emit(measurement)
                reference = (max(cost, 1e-9), measurement.latency_ms / 1000.0)
                if measurement.memory_mb is not None:
                    estimate = estimated_activation_bytes(spec, config)
                    memory_reference = (max(estimate, 1.0), max(measurement.memory_mb - loaded_mb, 1.0))
                bar.update(1)
        finally:
            if backend is not None:
                backend.close()
            backend = None
            release_memory()

    def _check_memory(self, spec, config, memory_reference, loaded_mb) -> None:
        try:
            import psutil

            available = psutil.virtual_memory().available
        except ImportError:
            return
        estimate = estimated_activation_bytes(spec, config)
        if memory_reference is not None:  # scale what the group's last configuration used
            needed = memory_reference[1] * 2**20 * estimate / memory_reference[0] + loaded_mb * 2**20
        else:
            needed = estimate
        if needed > MEMORY_SAFETY_FRACTION * available:
            raise MemoryError(
                f"out of memory: needs about {needed / 2**30:.1f} GiB, {available / 2**30:.1f} GiB available (not run)"
            )

    # -- one measurement ------------------------------------------------------------------

    def _measure(self, backend, config: BenchmarkConfig, baseline: int) -> Measurement:
        started = time.perf_counter()
        release_memory()
        self.memory.reset()
        step = backend.bind(config.batch_size, config.sequence_length, config.image_size)
        # warm-up: the first iteration pays for lazy initialisation; stop early on slow ones
        warm_spent = 0.0
        warm_times: list[float] = []
        for i in range(max(self.warmup, 1)):
            t0 = time.perf_counter()
            step()
            warm_times.append(time.perf_counter() - t0)
            warm_spent += warm_times[-1]
            if i >= 1 and warm_spent > 2 * self.min_repeat_s:
                break
        # the first iteration includes lazy initialisation: judge the cap on a later one
        single = min(warm_times[1:]) if len(warm_times) > 1 else None
        if self.max_iteration_s is not None and single is not None and single > 2 * self.max_iteration_s:
            raise SkipConfiguration(
                f"one iteration took {single:.1f} s in warm-up > 2 x cap {self.max_iteration_s:.1f} s"
            )
        best = None
        for attempt in range(1, self.contention_retries + 2):
            timed = self._timed(step, config)
            if best is None or (timed[3] or 0.0) < (best[3] or 0.0):
                best = timed
            if timed[3] is None or timed[3] <= MAX_FOREIGN_CPU_SHARE or attempt > self.contention_retries:
                break
            time.sleep(self.contention_wait_s)
        latencies, throughputs, power_w, contention = best
        peak = self.memory.peak_bytes()
        del step
        memory_mb = (peak - baseline) / 2**20
        mean_throughput = statistics.fmean(throughputs)
        cv = statistics.stdev(throughputs) / mean_throughput if len(throughputs) > 1 and mean_throughput > 0 else None
        lat_ms = np.asarray(latencies) * 1000.0
        return Measurement(
            config=config,
            throughput=mean_throughput,
            throughput_cv=cv,
            latency_ms=float(lat_ms.mean()),
            latency_p50_ms=float(np.percentile(lat_ms, 50)),
            latency_p90_ms=float(np.percentile(lat_ms, 90)),
            memory_mb=memory_mb if memory_mb > 0 else None,
            power_w=power_w,
            repeats=self.repeats,
            iterations=len(latencies),
            framework=backend.framework,
            measured_at=datetime.now(UTC).replace(tzinfo=None),
            seconds=time.perf_counter() - started,
            cpu_contention=contention,
            attempts=attempt,
        )

    def _timed(self, step, config: BenchmarkConfig):
        """``repeats`` timed repeats: (latencies s, throughputs items/s, power W, contention)."""
        meter = EnergyMeter()
        contention = CpuContention()
        latencies: list[float] = []
        throughputs: list[float] = []
        contention.start()
        meter.start()
        for _ in range(self.repeats):
            count = 0
            repeat_start = time.perf_counter()
            while True:
                t0 = time.perf_counter()
                step()
                t1 = time.perf_counter()
                latencies.append(t1 - t0)
                count += 1
                if (t1 - repeat_start >= self.min_repeat_s) or count >= self.max_iterations:
                    break
            elapsed = time.perf_counter() - repeat_start
            throughputs.append(config.batch_size * count / elapsed)
        meter.stop()
        return latencies, throughputs, meter.power_w, contention.stop()

    # -- bookkeeping ----------------------------------------------------------------------

    def _failure(self, config: BenchmarkConfig, error: str) -> dict:
        name = config.model_name
        try:
            name = canonical_model_name(name)
        except Exception:  # noqa: BLE001
            pass
        return {
            "model_name": name,
            "hardware_platform": config.hardware_platform,
            "hardware_name": self._hardware_name(config.hardware_platform),
            "batch_size": config.batch_size,
            "precision": config.precision,
            "mode": config.mode,
            "sequence_length": config.sequence_length,
            "image_size": config.image_size,
            "error": error[:1000],
            "source": SOURCE,
            "measured_at": datetime.now(UTC).replace(tzinfo=None),
        }

    def _skip(self, config: BenchmarkConfig, reason: str) -> dict:
        return {**config.as_dict(), "reason": reason}

    def _hardware_name(self, platform: str) -> str:
        try:
            info = self.hardware.platform(platform)
            if info.hardware_name:
                return info.hardware_name
        except KeyError:
            pass
        return self.hardware.cpu.hardware_name

    def _emit(self, item) -> None:
        if self.on_result is not None:
            self.on_result(item)


def results_frame(measurements: list[Measurement], hardware: HardwareInfo) -> pd.DataFrame:
    """Measured rows in the canonical + extra columns of ``schema.RESULT_COLUMNS``."""
    rows = []
    for m in measurements:
        c = m.config
        spec = get_architecture(c.model_name)
        try:
            info = hardware.platform(c.hardware_platform)
            hardware_name = info.hardware_name or hardware.cpu.hardware_name
        except KeyError:
            hardware_name = hardware.cpu.hardware_name
        rows.append(
            {
                "model_name": spec.name,
                "model_family": spec.family,
                "model_type": spec.model_type,
                "hardware_platform": c.hardware_platform,
                "hardware_name": hardware_name,
                "num_devices": 1,
                "batch_size": c.batch_size,
                "precision": c.precision,
                "mode": c.mode,
                "sequence_length": c.sequence_length,
                "throughput": m.throughput,
                "latency_ms": m.latency_ms,
                "memory_mb": m.memory_mb,
                "power_w": m.power_w,
                "source": SOURCE,
                "measured_at": m.measured_at,
                "system_name": None,
                "image_size": c.image_size,
                "latency_p50_ms": m.latency_p50_ms,
                "latency_p90_ms": m.latency_p90_ms,
                "throughput_cv": m.throughput_cv,
                "repeats": m.repeats,
                "framework": m.framework,
                "hardware_description": hardware.description,
            }
        )
    return _typed_results(pd.DataFrame(rows, columns=[c.name for c in RESULT_COLUMNS]))


def _typed_results(frame: pd.DataFrame) -> pd.DataFrame:
    for column in RESULT_COLUMNS:
        if column.sql_type in ("INTEGER", "BIGINT"):
            frame[column.name] = frame[column.name].astype("Int64")
        elif column.sql_type == "DOUBLE":
            frame[column.name] = frame[column.name].astype("float64")
        elif column.sql_type == "TIMESTAMP":
            frame[column.name] = pd.to_datetime(frame[column.name])
        else:
            frame[column.name] = frame[column.name].astype(object)
    return frame


def _frame(rows: list[dict], columns: tuple[str, ...]) -> pd.DataFrame:
    frame = pd.DataFrame(rows, columns=list(columns))
    for name in ("batch_size", "sequence_length", "image_size"):
        if name in frame:
            frame[name] = frame[name].astype("Int64")
    if "measured_at" in frame:
        frame["measured_at"] = pd.to_datetime(frame["measured_at"])
    return frame


def _describe(error: BaseException) -> str:
    text = f"{type(error).__name__}: {error}".strip()
    if isinstance(error, (MemoryError,)) or "out of memory" in text.lower() or "bad_alloc" in text.lower():
        if not text.lower().startswith("memoryerror: out of memory"):
            text = "out of memory: " + text
    frame = traceback.extract_tb(error.__traceback__)[-1] if error.__traceback__ else None
    where = f" (at {Path(frame.filename).name}:{frame.lineno})" if frame else ""
    return (text + where)[:1000]


class _NoBar:
    def update(self, n: int = 1) -> None:
        pass

    def set_postfix_str(self, text: str) -> None:
        pass

    def close(self) -> None:
        pass


def _progress_bar(total: int, enabled: bool):
    if not enabled or total == 0:
        return _NoBar()
    try:
        from tqdm.auto import tqdm
    except ImportError:
        return _NoBar()
    return tqdm(total=total, unit="config", desc="benchmark", dynamic_ncols=True, file=sys.stderr)


def run_configurations(
    configs: Iterable[BenchmarkConfig | Mapping],
    repeats: int = DEFAULT_REPEATS,
    warmup: int = DEFAULT_WARMUP,
    *,
    hardware: HardwareInfo | None = None,
    min_repeat_s: float = DEFAULT_MIN_REPEAT_S,
    max_iterations: int = DEFAULT_MAX_ITERATIONS,
    max_iteration_s: float | None = None,
    progress: bool | None = None,
    threads: int | None = None,
    contention_retries: int = CONTENTION_RETRIES,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Measure ``configs``; returns (results in schema columns, failures). No warehouse needed.

    Configurations skipped by ``max_iteration_s`` are in neither frame; use ``BenchmarkRunner``
    directly to see them.
    """
    runner = BenchmarkRunner(
        hardware=hardware,
        repeats=repeats,
        warmup=warmup,
        min_repeat_s=min_repeat_s,
        max_iterations=max_iterations,
        max_iteration_s=max_iteration_s,
        threads=threads,
        progress=progress,
        contention_retries=contention_retries,
    )
    outcome = runner.run(configs)
    return outcome.results, outcome.failures


def coefficient_of_variation(values: Iterable[float]) -> float | None:
    values = [float(v) for v in values]
    if len(values) < 2:
        return None
    mean = statistics.fmean(values)
    return statistics.stdev(values) / mean if mean else None


__all__ = [
    "DEFAULT_MIN_REPEAT_S",
    "DEFAULT_REPEATS",
    "DEFAULT_WARMUP",
    "HIGH_CV_THRESHOLD",
    "SOURCE",
    "BenchmarkConfig",
    "BenchmarkRunner",
    "Measurement",
    "RunOutcome",
    "coefficient_of_variation",
    "results_frame",
    "run_configurations",
]
