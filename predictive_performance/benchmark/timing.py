"""How one configuration is timed: warm-up, timed repeats, spread, and retries on a busy machine.

1. ``warmup`` untimed iterations (the first one also pays for lazy initialisation);
2. ``repeats`` timed repeats, each running iterations until at least ``min_repeat_s`` seconds
   or ``max_iterations`` iterations; each repeat gives a throughput (items/s);
3. throughput is the mean over repeats, ``throughput_cv`` their coefficient of variation;
   latency mean, p50 and p90 are over every timed iteration;
4. when other processes took more than ``MAX_FOREIGN_CPU_SHARE`` of the CPU during the timed
   repeats, they are run again after a pause, and the least disturbed run is kept.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

import numpy as np

from predictive_performance.benchmark.configuration import BenchmarkConfig
from predictive_performance.benchmark.energy import EnergyMeter
from predictive_performance.benchmark.probes import CpuContention, PeakMemory, release_memory
from predictive_performance.benchmark.results import Measurement, coefficient_of_variation

DEFAULT_REPEATS = 3
DEFAULT_WARMUP = 2
DEFAULT_MIN_REPEAT_S = 0.3
DEFAULT_MAX_ITERATIONS = 200
# Other processes' share of the machine's CPU time during a timed run above which the run is
# repeated after a pause (a 2-vCPU machine shared with other work slows multi-threaded kernels
# many-fold without raising the spread between repeats).
MAX_FOREIGN_CPU_SHARE = 0.25
CONTENTION_RETRIES = 2
CONTENTION_WAIT_S = 3.0


class SkipConfiguration(Exception):
    """Not measured on purpose (time cap or budget); not a failure of the configuration."""


@dataclass(frozen=True)
class TimedRun:
    """The timed repeats of one attempt."""

    latencies_s: list[float]  # every timed iteration
    throughputs: list[float]  # items/s, one per repeat
    power_w: float | None
    cpu_contention: float | None


@dataclass(frozen=True)
class TimingProtocol:
    """The knobs of the timing method (see the module docstring) and the method itself."""

    repeats: int = DEFAULT_REPEATS
    warmup: int = DEFAULT_WARMUP
    min_repeat_s: float = DEFAULT_MIN_REPEAT_S
    max_iterations: int = DEFAULT_MAX_ITERATIONS
    max_iteration_s: float | None = None  # skip a configuration whose warm-up iteration took over twice this
    contention_retries: int = CONTENTION_RETRIES
    contention_wait_s: float = CONTENTION_WAIT_S

    def measure(self, backend, config: BenchmarkConfig, memory: PeakMemory, baseline: int) -> Measurement:
        """Time ``config`` on the loaded ``backend``; memory is the peak RSS above ``baseline``.

        Raises ``SkipConfiguration`` when warm-up shows one iteration is far over the cap.
        """
        started = time.perf_counter()
        release_memory()
        memory.reset()
        step = backend.bind(config.batch_size, config.sequence_length, config.image_size)
        self._warm_up(step)
        run, attempts = self._least_contended(step, config)
        peak = memory.peak_bytes()
        del step  # the bound inputs go before the next configuration's baseline
        memory_mb = (peak - baseline) / 2**20
        lat_ms = np.asarray(run.latencies_s) * 1000.0
        return Measurement(
            config=config,
            throughput=statistics.fmean(run.throughputs),
            throughput_cv=coefficient_of_variation(run.throughputs),
            latency_ms=float(lat_ms.mean()),
            latency_p50_ms=float(np.percentile(lat_ms, 50)),
            latency_p90_ms=float(np.percentile(lat_ms, 90)),
            memory_mb=memory_mb if memory_mb > 0 else None,
            power_w=run.power_w,
            repeats=self.repeats,
            iterations=len(run.latencies_s),
            framework=backend.framework,
            measured_at=datetime.now(UTC).replace(tzinfo=None),
            seconds=time.perf_counter() - started,
            cpu_contention=run.cpu_contention,
            attempts=attempts,
        )

    def _warm_up(self, step: Callable[[], object]) -> None:
        """Untimed iterations; stop early on slow ones, and skip a configuration far over the cap."""
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

    def _least_contended(self, step: Callable[[], object], config: BenchmarkConfig) -> tuple[TimedRun, int]:
        """Timed repeats, again after a pause while other processes held the CPU; the quietest and the attempts."""
        best = None
        for attempt in range(1, self.contention_retries + 2):
            run = self._timed(step, config)
            if best is None or (run.cpu_contention or 0.0) < (best.cpu_contention or 0.0):
                best = run
            quiet = run.cpu_contention is None or run.cpu_contention <= MAX_FOREIGN_CPU_SHARE
            if quiet or attempt > self.contention_retries:
                break
            time.sleep(self.contention_wait_s)
        return best, attempt

    def _timed(self, step: Callable[[], object], config: BenchmarkConfig) -> TimedRun:
        """``repeats`` timed repeats with power and contention read around them."""
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
        return TimedRun(latencies, throughputs, meter.power_w, contention.stop())
