"""The library's progress records (``predictive_performance.progress``) drawn with rich while a command runs.

A running task is a live line (spinner, counts, elapsed); a finished one is printed once, with its
time, above the live lines, so the terminal keeps the history of the run. Quiet (``--quiet``, or
stdout not a terminal): nothing is attached and only the command's own summary prints.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, SpinnerColumn, TaskID, TextColumn, TimeElapsedColumn

from predictive_performance.progress import Progress as Report
from predictive_performance.progress import logger


class RichProgressHandler(logging.Handler):
    """One rich task per (stage, task) of the reports; finished tasks become printed lines."""

    def __init__(self, bars: Progress) -> None:
        super().__init__(logging.INFO)
        self.bars = bars
        self.tasks: dict[tuple[str, str], TaskID] = {}

    def emit(self, record: logging.LogRecord) -> None:
        event: Report | None = getattr(record, "progress", None)
        if event is None:
            return
        label = f"{event.stage}: {event.task}" + (f" ({event.detail})" if event.detail else "")
        task = self.tasks.get(event.key)
        if event.done:
            if task is not None:
                self.bars.remove_task(self.tasks.pop(event.key))
            elapsed = f" [{event.elapsed_s:.1f} s]" if event.elapsed_s is not None else ""
            self.bars.console.print(f"[green]done[/] {label}{elapsed}", highlight=False)
        elif task is None:
            self.tasks[event.key] = self.bars.add_task(label, total=event.total, completed=event.completed or 0)
        else:
            self.bars.update(task, description=label, completed=event.completed or 0, total=event.total)


@contextmanager
def shown_progress(console: Console, quiet: bool) -> Iterator[None]:
    """Draw progress on ``console`` for the duration of a command, unless quiet or not a terminal."""
    if quiet or not console.is_terminal:
        yield
        return
    bars = Progress(
        SpinnerColumn(), TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
        console=console, transient=True, redirect_stdout=False, redirect_stderr=False,
    )
    handler = RichProgressHandler(bars)
    logger.addHandler(handler)
    try:
        with bars:
            yield
    finally:
        logger.removeHandler(handler)
