"""The ``perfpredict`` command line (docs/architecture.md, "Command line").

``data`` holds the commands that fill and run the warehouse (ingest, run, benchmark, status),
``prediction`` those that read the trained models (predict, recommend, evaluate, demo).
"""

from predictive_performance.cli import data, prediction  # noqa: F401  (registers the commands)
from predictive_performance.cli.app import app

__all__ = ["app"]
