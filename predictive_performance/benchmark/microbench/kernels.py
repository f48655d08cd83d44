"""Achieved rates of one torch device: dense matmul per precision and memory copy bandwidth.

These are what this device reaches here, now, under PyTorch, not the vendor's published peak:
on a shared or throttled machine they sit well below it. They stand in for the catalog's
``peak_*`` figures only for a device the catalog lacks, and their source says so.

Each kernel is timed by the runner's own ``TimingProtocol`` (warm-up, timed repeats, reruns while
other processes hold the CPU), one kernel call being one "item"; a matmul is sized by doubling until
one call takes ``target_call_s`` or it reaches ``max_matmul_size``, so small devices stay fast and
large ones approach their peak.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from predictive_performance.benchmark.configuration import BenchmarkConfig
from predictive_performance.benchmark.hardware import runtime_version
from predictive_performance.benchmark.probes import PeakMemory
from predictive_performance.benchmark.timing import TimingProtocol

# Catalog spec each precision's matmul rate fills (dbt var hardware_spec_names).
RATE_SPECS = {"fp32": "peak_fp32_tflops", "fp16": "peak_fp16_tflops", "bf16": "peak_bf16_tflops", "int8": "peak_int8_tops"}
BANDWIDTH_SPEC = "memory_bandwidth_gbs"
# The torch device that runs each runner platform's kernels.
TORCH_DEVICES = {"cpu": "cpu", "cuda": "cuda", "rocm": "cuda", "mps": "mps"}


@dataclass(frozen=True)
class Settings:
    """How long the micro-benchmarks may take: sizes and the timing protocol."""

    min_matmul_size: int = 256
    max_matmul_size: int = 8192
    target_call_s: float = 0.05  # one matmul call this long is large enough to approach the peak
    copy_mb: int = 256  # per buffer; larger than most caches, small beside any device's memory
    timing: TimingProtocol = field(
        default_factory=lambda: TimingProtocol(repeats=3, warmup=2, min_repeat_s=0.2, contention_retries=1, contention_wait_s=1.0)
    )


@dataclass(frozen=True)
class Figure:
    """One measured spec with the sentence that says how it was measured."""

    spec: str
    value: float
    source: str


@dataclass(frozen=True)
class Skipped:
    spec: str
    reason: str


class _Kernel:
    """The backend interface ``TimingProtocol`` drives: ``bind`` gives one call of the kernel."""

    framework = runtime_version("torch") or "torch"

    def __init__(self, call: Callable[[], object]) -> None:
        self.call = call

    def bind(self, batch_size: int, sequence_length: int | None, image_size: int | None) -> Callable[[], object]:
        return self.call


def _synchronizer(device: str) -> Callable[[], None]:
    """Waits for queued kernels, so a timed call ends when the device is done, not when it was queued."""
    import torch

    if device == "cuda":
        return torch.cuda.synchronize
    if device == "mps":
        return torch.mps.synchronize
    return lambda: None


def _calls_per_s(call: Callable[[], object], platform: str, settings: Settings) -> float:
    """Calls per second, the mean of the protocol's timed repeats."""
    config = BenchmarkConfig(model_name="micro-benchmark", hardware_platform=platform)
    return settings.timing.measure(_Kernel(call), config, PeakMemory(), baseline=0).throughput


def _matmul_call(device: str, precision: str, size: int) -> Callable[[], object]:
    import torch

    sync = _synchronizer(device)
    if precision == "int8":
        a = torch.randint(-64, 64, (size, size), dtype=torch.int8, device=device)
        b = torch.randint(-64, 64, (size, size), dtype=torch.int8, device=device)
        out = torch.empty(size, size, dtype=torch.int32, device=device)
        torch._int_mm(a, b, out=out)  # raises where this build has no int8 matmul for the device

        def call() -> None:
            torch._int_mm(a, b, out=out)
            sync()

        return call
    dtype = {"fp32": torch.float32, "fp16": torch.float16, "bf16": torch.bfloat16}[precision]
    a = torch.randn(size, size, dtype=dtype, device=device)
    b = torch.randn(size, size, dtype=dtype, device=device)
    out = torch.empty(size, size, dtype=dtype, device=device)

    def call() -> None:
        torch.matmul(a, b, out=out)
        sync()

    return call


def _sized_matmul(device: str, precision: str, settings: Settings) -> tuple[int, Callable[[], object]]:
    """The smallest doubling of ``min_matmul_size`` whose call takes ``target_call_s`` (or the largest allowed)."""
    size = settings.min_matmul_size
    while True:
        call = _matmul_call(device, precision, size)
        call()  # the first call pays for lazy initialisation
        started = time.perf_counter()
        call()
        if time.perf_counter() - started >= settings.target_call_s or size * 2 > settings.max_matmul_size:
            return size, call
        size *= 2


def _today() -> str:
    return f"{datetime.now(UTC):%Y-%m-%d}"


def matmul_rate(platform: str, precision: str, settings: Settings) -> Figure:
    """Achieved dense matmul rate in TFLOPS (TOPS for int8): 2 n^3 operations per n x n call."""
    device = TORCH_DEVICES[platform]
    size, call = _sized_matmul(device, precision, settings)
    rate = 2.0 * size**3 * _calls_per_s(call, platform, settings) / 1e12
    protocol = settings.timing
    source = (
        f"measured: perfpredict micro-benchmark ({_Kernel.framework}, {size}x{size} {precision} matmul on {platform}, "
        f"mean of {protocol.repeats} timed repeats) on {_today()}; an achieved rate, not the published peak"
    )
    return Figure(RATE_SPECS[precision], rate, source)


def copy_bandwidth(platform: str, settings: Settings) -> Figure:
    """Achieved memory bandwidth in GB/s: a buffer copy, the bytes read plus the bytes written per second."""
    import torch

    device = TORCH_DEVICES[platform]
    elements = settings.copy_mb * 2**20 // 4
    source_buffer = torch.ones(elements, dtype=torch.float32, device=device)
    target = torch.empty_like(source_buffer)
    sync = _synchronizer(device)

    def call() -> None:
        target.copy_(source_buffer)
        sync()

    rate = 2 * elements * 4 * _calls_per_s(call, platform, settings) / 1e9
    source = (
        f"measured: perfpredict micro-benchmark ({_Kernel.framework}, copy of {settings.copy_mb} MB on {platform}, "
        f"bytes read + written, mean of {settings.timing.repeats} timed repeats) on {_today()}; "
        "an achieved bandwidth, not the published peak"
    )
    return Figure(BANDWIDTH_SPEC, rate, source)


def measure_rates(
    platform: str, precisions: tuple[str, ...], threads: int, settings: Settings
) -> tuple[list[Figure], list[Skipped]]:
    """The matmul rate of each precision the device runs that the catalog has a spec for, and the bandwidth.

    ``threads``: CPU threads, as the runner uses them (every vCPU), so the figures match its rows.
    """
    import torch

    torch.set_num_threads(threads)
    figures, skipped = [], []
    for precision in (p for p in precisions if p in RATE_SPECS):
        try:
            figures.append(matmul_rate(platform, precision, settings))
        except (RuntimeError, NotImplementedError) as error:  # e.g. no int8 matmul kernel for this device
            skipped.append(Skipped(RATE_SPECS[precision], f"{precision} matmul does not run on {platform}: {error}"))
    figures.append(copy_bandwidth(platform, settings))
    return figures, skipped
