"""Progress of the long stages (ingest, dbt, training, prediction matrix, queue) as log records.

The library reports through one standard-library logger, ``perfpredict.progress``, and nothing
else, so it needs neither rich nor Dagster: the command line renders the records with rich
(``cli/progress_view.py``), and a Dagster instance that manages this logger
(``python_logs.managed_python_loggers``) files them in the run's event log, as the UI shows them.
Each record's message is a readable line and its ``progress`` attribute the ``Progress`` value.
Nothing is printed where no handler listens: the logger's records are INFO, and Python's
last-resort handler shows warnings only.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

LOGGER_NAME = "perfpredict.progress"
logger = logging.getLogger(LOGGER_NAME)
logger.setLevel(logging.INFO)  # a Dagster instance that manages the logger keeps its level unless told one


@dataclass(frozen=True)
class Progress:
    """One report on a task of a stage: started, advanced (``completed`` of ``total``) or done after ``elapsed_s``."""

    stage: str
    task: str
    completed: int | None = None
    total: int | None = None
    detail: str = ""
    done: bool = False
    elapsed_s: float | None = None

    @property
    def key(self) -> tuple[str, str]:
        """Which task the report is about: reports with one key describe one line of progress."""
        return self.stage, self.task

    def describe(self) -> str:
        counts = f" {self.completed:,}/{self.total:,}" if self.completed is not None and self.total else ""
        if self.completed is not None and not self.total:
            counts = f" {self.completed:,}"
        elapsed = f" in {self.elapsed_s:.1f} s" if self.elapsed_s is not None else ""
        detail = f": {self.detail}" if self.detail else ""
        state = "done" if self.done else "..."
        return f"{self.stage} | {self.task}{counts} {state}{elapsed}{detail}"


def report(event: Progress) -> None:
    """Emit one report (a no-op unless someone listens)."""
    logger.info(event.describe(), extra={"progress": event})


Advance = Callable[..., None]


@contextmanager
def step(stage: str, task: str, total: int | None = None) -> Iterator[Advance]:
    """Report a task's start, its advances (``advance(completed, detail=...)``) and its end with the elapsed time.

    The last detail given is repeated when the task is done, so its summary ("1,200 accepted")
    ends the line. A task that fails reports no end; the error says why.
    """
    started = time.monotonic()
    last = {"completed": None, "detail": ""}

    def advance(completed: int | None = None, detail: str = "") -> None:
        last.update(completed=completed, detail=detail)
        report(Progress(stage, task, completed, total, detail))

    report(Progress(stage, task, total=total))
    yield advance
    report(Progress(stage, task, last["completed"], total, last["detail"], done=True, elapsed_s=time.monotonic() - started))
