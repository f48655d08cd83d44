"""The ``perfpredict`` Typer app and what every command shares: the consoles and the exit statuses."""

from __future__ import annotations

import typer
from rich.console import Console

app = typer.Typer(help="Predict ML model performance on hardware nobody has benchmarked yet.", no_args_is_help=True)
console = Console(soft_wrap=True, highlight=False)
errors = Console(stderr=True, soft_wrap=True, highlight=False)

EXIT_REJECTED = 1
EXIT_NO_MODELS = 1
EXIT_UNUSABLE_INPUT = 2
