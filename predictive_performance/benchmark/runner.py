"""Measure configurations: warm-up, repeated timed runs, spread, memory, power, failures.

One configuration is measured like this:

1. the runtime's model is prepared (ONNX export and quantization are files, not counted) and
   loaded once per (model, platform, precision, mode, image size) group; configurations of a
   group run from the cheapest to the dearest;
2. it is timed as ``timing`` describes: ``warmup`` untimed iterations, ``repeats`` timed
   repeats, throughput as their mean and ``throughput_cv`` as their coefficient of variation
   (sample standard deviation / mean); a row with ``throughput_cv > HIGH_CV_THRESHOLD`` is
   flagged;
3. ``memory_mb`` is the peak resident set size of the process while the configuration ran
   (model loaded, inputs made, warm-up and timed runs) minus the resident set size before the
   model was loaded: the memory the configuration added (``probes.PeakMemory``);
4. ``power_w`` is the average package power from RAPL over the timed repeats, and null where
   the machine exposes no readable counter.

A configuration that fails (unknown model, unsupported precision, an error while running,
memory it would not get) becomes a row of ``failures`` with the reason; the batch goes on.
"""

from __future__ import annotations

import shutil
import sys
import tempfile
import time
import traceback
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from predictive_performance.benchmark.architectures import (
    ArchitectureSpec,
    UnknownArchitectureError,
    get_architecture,
)
from predictive_performance.benchmark.configuration import BenchmarkConfig
from predictive_performance.benchmark.hardware import HardwareInfo, detect_hardware
from predictive_performance.benchmark.probes import PeakMemory, current_rss_bytes, release_memory
from predictive_performance.benchmark.results import (
    FAILURE_COLUMNS,
    SKIPPED_COLUMNS,
    Measurement,
    RunOutcome,
    failure_row,
    results_frame,
    rows_frame,
    skip_row,
)
from predictive_performance.benchmark.runtimes import UnsupportedConfiguration, make_backend
from predictive_performance.benchmark.timing import (
    CONTENTION_RETRIES,
    CONTENTION_WAIT_S,
    DEFAULT_MAX_ITERATIONS,
    DEFAULT_MIN_REPEAT_S,
    DEFAULT_REPEATS,
    DEFAULT_WARMUP,
    SkipConfiguration,
    TimingProtocol,
)

MEMORY_SAFETY_FRACTION = 0.8  # refuse a configuration predicted to need more of the free memory

GroupKey = tuple[str, str, str, str, int | None]  # model, platform, precision, mode, image size of the build


def estimated_activation_bytes(spec: ArchitectureSpec, config: BenchmarkConfig) -> float:
    """A deliberately generous guess of the activations, only to refuse absurd configurations
    before the kernel's out-of-memory killer ends the whole process."""
    positions = spec.positions(config.sequence_length, config.image_size)
    per_position = 64 * 1024  # a hidden size of 1024 in fp32, 16 live buffers
    attention = 16 * positions**2 * 4 if spec.modality != "vision" or spec.family in ("vit", "deit") else 0.0
    factor = 3.0 if config.mode == "training" else 1.0
    return factor * config.batch_size * (positions * per_position + attention)


def check_free_memory(needed_bytes: float) -> None:
    """Raise ``MemoryError`` for a configuration predicted to need more than a safe share of the free memory."""
    try:
        import psutil

        available = psutil.virtual_memory().available
    except ImportError:
        return
    if needed_bytes > MEMORY_SAFETY_FRACTION * available:
        needed, free = needed_bytes / 2**30, available / 2**30
        raise MemoryError(f"out of memory: needs about {needed:.1f} GiB, {free:.1f} GiB available (not run)")


def group_configurations(
    configs: list[BenchmarkConfig],
) -> tuple[dict[GroupKey, list[BenchmarkConfig]], list[tuple[BenchmarkConfig, str]]]:
    """Resolved configurations by the model build they share, cheapest first; and those that cannot resolve."""
    groups: dict[GroupKey, list[BenchmarkConfig]] = {}
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
        members.sort(key=lambda c: (spec.approx_gflops(c.batch_size, c.sequence_length, c.image_size), c.batch_size))
    return groups, unresolved


@dataclass
class ModelGroup:
    """One built model and what its measured configurations say about the dearer ones still to run.

    Seconds per unit of cost predict the next iteration's time (to skip one over the cap); memory
    per unit of estimated activations predicts the next one's memory (to refuse one that would
    not fit).
    """

    spec: ArchitectureSpec
    platform: str
    precision: str
    mode: str
    image_size: int | None  # the image size the model is built for
    backend: object | None = None
    baseline: int = 0  # RSS before the model was loaded, bytes
    loaded_mb: float = 0.0  # what loading the model added
    time_reference: tuple[float, float] | None = None  # (cost units, seconds per iteration)
    memory_reference: tuple[float, float] | None = None  # (activation estimate, measured MB above weights)

    @classmethod
    def from_key(cls, key: GroupKey, members: list[BenchmarkConfig]) -> ModelGroup:
        model_name, platform, precision, mode, image_size = key
        build_image = image_size if image_size is not None else members[0].image_size
        return cls(get_architecture(model_name), platform, precision, mode, build_image)

    def cost(self, config: BenchmarkConfig) -> float:
        return self.spec.approx_gflops(config.batch_size, config.sequence_length, config.image_size)

    def predicted_iteration_s(self, config: BenchmarkConfig) -> float | None:
        if self.time_reference is None:
            return None
        return self.time_reference[1] * self.cost(config) / self.time_reference[0]

    def needed_bytes(self, config: BenchmarkConfig) -> float:
        estimate = estimated_activation_bytes(self.spec, config)
        if self.memory_reference is None:
            return estimate
        # scale what the group's last configuration used
        return self.memory_reference[1] * 2**20 * estimate / self.memory_reference[0] + self.loaded_mb * 2**20

    def learn(self, config: BenchmarkConfig, measurement: Measurement) -> None:
        self.time_reference = (max(self.cost(config), 1e-9), measurement.latency_ms / 1000.0)
        if measurement.memory_mb is not None:
            estimate = estimated_activation_bytes(self.spec, config)
            self.memory_reference = (max(estimate, 1.0), max(measurement.memory_mb - self.loaded_mb, 1.0))

    def close(self) -> None:
        if self.backend is not None:
            self.backend.close()
        self.backend = None
        release_memory()


@dataclass
class RunRecord:
    """What a run has produced so far; measurements and failures reach ``on_result`` as they happen."""

    hardware: HardwareInfo
    on_result: Callable[[object], None] | None
    measurements: list[Measurement] = field(default_factory=list)
    failures: list[dict] = field(default_factory=list)
    skipped: list[dict] = field(default_factory=list)

    def measured(self, measurement: Measurement) -> None:
        self.measurements.append(measurement)
        self._emit(measurement)

    def failed(self, config: BenchmarkConfig, error: str) -> None:
        self.failures.append(failure_row(config, error, self.hardware))
        self._emit(self.failures[-1])

    def skip(self, config: BenchmarkConfig, reason: str) -> None:
        self.skipped.append(skip_row(config, reason))

    def _emit(self, item: object) -> None:
        if self.on_result is not None:
            self.on_result(item)


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
        self.timing = TimingProtocol(
            repeats=repeats,
            warmup=max(0, warmup),
            min_repeat_s=min_repeat_s,
            max_iterations=max(1, max_iterations),
            max_iteration_s=max_iteration_s,
            contention_retries=max(0, contention_retries),
            contention_wait_s=contention_wait_s,
        )
        self.time_budget_s = time_budget_s
        self.threads = threads or self.hardware.cpu.vcpus
        self.progress = sys.stderr.isatty() if progress is None else progress
        self.workdir = workdir
        self.on_result = on_result
        self.memory = PeakMemory()

    def run(self, configs: Iterable[BenchmarkConfig | Mapping]) -> RunOutcome:
        """Measure ``configs`` group by group; every configuration ends measured, failed or skipped."""
        started = time.perf_counter()
        configs = [c if isinstance(c, BenchmarkConfig) else BenchmarkConfig.from_mapping(c) for c in configs]
        record = RunRecord(self.hardware, self.on_result)
        groups, unresolved = group_configurations(configs)
        for config, error in unresolved:
            record.failed(config, error)
        own_workdir = self.workdir is None
        workdir = Path(tempfile.mkdtemp(prefix="perfpredict-bench-")) if own_workdir else Path(self.workdir)
        bar = _progress_bar(len(configs) - len(unresolved), self.progress)
        try:
            for key, members in groups.items():
                self._run_group(ModelGroup.from_key(key, members), members, workdir, started, record, bar)
        finally:
            bar.close()
            if own_workdir:
                shutil.rmtree(workdir, ignore_errors=True)
        return RunOutcome(
            results=results_frame(record.measurements, self.hardware),
            failures=rows_frame(record.failures, FAILURE_COLUMNS),
            skipped=rows_frame(record.skipped, SKIPPED_COLUMNS),
            measurements=record.measurements,
            seconds=time.perf_counter() - started,
        )

    def _run_group(
        self, group: ModelGroup, members: list[BenchmarkConfig], workdir: Path, started: float, record: RunRecord, bar
    ) -> None:
        """Measure a group's configurations on one loaded model; a cause the whole group shares fails them all."""
        reason = self.hardware.unsupported_reason(group.platform, group.precision)
        if reason is not None:
            for config in members:
                record.failed(config, f"UnsupportedConfiguration: {reason}")
                bar.update(1)
            return
        try:
            for index, config in enumerate(members):
                bar.set_postfix_str(config.label[:60])
                try:
                    self._run_one(group, config, workdir, started, record)
                except (UnsupportedConfiguration, UnknownArchitectureError) as error:
                    # the whole group shares the cause (export, quantization, precision)
                    for rest in members[index:]:
                        record.failed(rest, f"{type(error).__name__}: {error}")
                        bar.update(1)
                    return
                bar.update(1)
        finally:
            group.close()

    def _run_one(
        self, group: ModelGroup, config: BenchmarkConfig, workdir: Path, started: float, record: RunRecord
    ) -> None:
        """Measure ``config``, loading the group's model first, or record why it was not.

        Raises ``UnsupportedConfiguration`` or ``UnknownArchitectureError`` when the whole group cannot run.
        """
        reason = self._skip_reason(group, config, started)
        if reason is not None:
            record.skip(config, reason)
            return
        try:
            check_free_memory(group.needed_bytes(config))
            if group.backend is None:
                self._load(group, workdir)
            measurement = self.timing.measure(group.backend, config, self.memory, group.baseline)
        except SkipConfiguration as skip:
            record.skip(config, str(skip))
            return
        except (UnsupportedConfiguration, UnknownArchitectureError):
            raise
        except Exception as error:  # noqa: BLE001 - recorded, the batch goes on
            record.failed(config, _describe(error))
            release_memory()
            return
        record.measured(measurement)
        group.learn(config, measurement)

    def _skip_reason(self, group: ModelGroup, config: BenchmarkConfig, started: float) -> str | None:
        """Why ``config`` is left out on purpose: the time budget is spent, or it is predicted over the cap."""
        if self.time_budget_s is not None and time.perf_counter() - started > self.time_budget_s:
            return f"time budget of {self.time_budget_s:.0f} s used up"
        cap = self.timing.max_iteration_s
        predicted = group.predicted_iteration_s(config)
        if cap is not None and predicted is not None and predicted > cap:
            return f"one iteration predicted at {predicted:.1f} s > cap {cap:.1f} s"
        return None

    def _load(self, group: ModelGroup, workdir: Path) -> None:
        """Prepare and load the group's model; its memory is counted from just before it loads."""
        try:
            group.backend = make_backend(
                group.platform, group.spec, group.image_size, group.precision, group.mode, workdir, self.threads
            )
            group.backend.prepare()
            release_memory()
            group.baseline = current_rss_bytes()
            self.memory.reset()
            group.backend.load()
        except UnsupportedConfiguration:
            raise
        except Exception as error:  # noqa: BLE001 - the group cannot run: say why
            raise UnsupportedConfiguration(_describe(error)) from error
        release_memory()
        group.loaded_mb = max(current_rss_bytes() - group.baseline, 0) / 2**20


def _describe(error: BaseException) -> str:
    """A failure reason: the error, where it was raised, and "out of memory" whatever the runtime called it."""
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
