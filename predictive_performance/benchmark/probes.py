"""What the process itself can tell about a measurement: resident memory and other processes' CPU.

Peak RSS comes from the kernel's high-water mark (``VmHWM``, reset through
``/proc/self/clear_refs``), or from sampling RSS where that is not allowed. CPU contention is the
share of the machine's CPU time other processes used, from ``/proc/stat`` and
``/proc/self/stat``: on a small shared machine it slows multi-threaded kernels many-fold without
raising the spread between repeats, so the spread alone cannot say a run was disturbed.
"""

from __future__ import annotations

import ctypes
import gc
import os
import sys
import threading
import time

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
