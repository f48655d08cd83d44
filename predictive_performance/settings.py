"""Run settings from the environment, and where the project's own files live.

``Settings.from_env()`` is the one place that reads the environment. The command line and Dagster's
run config override single fields (``with_overrides``); a field left unset here falls back to the
library's own default (``TrainingConfig``'s budget), so each default is written once.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    from predictive_performance.modeling import TrainingConfig

DB_PATH_VARIABLE = "BENCHMARK_DB_PATH"  # dbt's profiles.yml reads it too
ARTIFACTS_VARIABLE = "PERFPREDICT_ARTIFACTS"
TIME_BUDGET_VARIABLE = "PERFPREDICT_TIME_BUDGET_S"
TRIALS_VARIABLE = "PERFPREDICT_TRIALS"
FAST_TRAINING_VARIABLE = "PERFPREDICT_FAST_TRAINING"
THOROUGH_VARIABLE = "PERFPREDICT_THOROUGH"
INPUT_PATHS_VARIABLE = "PERFPREDICT_INPUT_PATHS"  # files or folders, separated like PATH
DEFAULT_DATA_VARIABLE = "PERFPREDICT_INCLUDE_DEFAULT_DATA"
DAGSTER_HOME_VARIABLE = "DAGSTER_HOME"  # Dagster's own name for its instance folder
LOCK_WAIT_VARIABLE = "PERFPREDICT_LOCK_WAIT_S"

DEFAULT_DB_PATH = Path("data") / "benchmarks.duckdb"
DEFAULT_ARTIFACTS_DIR = Path("artifacts")
DEFAULT_LOCK_WAIT_S = 30.0  # how long a command waits for another process to release the warehouse file
DEFAULT_DAGSTER_HOME = Path(".dagster")  # beside data/ and artifacts/, so runs stay with the warehouse they built

PACKAGE_ROOT = Path(__file__).resolve().parent
PROJECT_ROOT = PACKAGE_ROOT.parent
DBT_PROJECT_DIR = PROJECT_ROOT / "dbt"
EXPECTATIONS_DIR = PROJECT_ROOT / "expectations"
SAMPLE_DATA_DIR = PROJECT_ROOT / "data" / "sample"
SHARED_DATA_DIR = PROJECT_ROOT.parent / "shared" / "data"

# The spellings pydantic (and so Dagster's config) accepts for a bool.
TRUE_WORDS = frozenset({"1", "true", "t", "yes", "y", "on"})
FALSE_WORDS = frozenset({"0", "false", "f", "no", "n", "off"})

T = TypeVar("T")


class SettingsError(ValueError):
    """An environment variable holds a value that cannot be used; the message names it."""


@dataclass(frozen=True)
class Settings:
    """Where the warehouse, artifacts and Dagster instance are, what a run ingests and how long it tunes.

    ``time_budget_s`` and ``n_trials`` are ``None`` when nobody set them: ``training_config`` then
    keeps ``TrainingConfig``'s defaults. ``fast_training`` means fewer folds and trees as well;
    ``thorough`` the full search (``TrainingConfig.thorough``), which the default run trades for a
    few minutes' wall time; ``fast_training`` wins when both are set.
    """

    warehouse: Path
    artifacts: Path
    time_budget_s: float | None = None
    n_trials: int | None = None
    fast_training: bool = False
    thorough: bool = False
    input_paths: tuple[Path, ...] = ()
    include_default_data: bool = True
    dagster_home: Path = DEFAULT_DAGSTER_HOME
    lock_wait_s: float = DEFAULT_LOCK_WAIT_S

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        """Read every variable once; raises ``SettingsError`` naming the first one that is not valid."""
        env = os.environ if environ is None else environ
        fast = _parse(env, FAST_TRAINING_VARIABLE, _boolean, "true or false")
        thorough = _parse(env, THOROUGH_VARIABLE, _boolean, "true or false")
        default_data = _parse(env, DEFAULT_DATA_VARIABLE, _boolean, "true or false")
        return cls(
            # absolute, because dbt resolves relative paths against its own working directory
            warehouse=_path(env.get(DB_PATH_VARIABLE) or DEFAULT_DB_PATH),
            artifacts=_path(env.get(ARTIFACTS_VARIABLE) or DEFAULT_ARTIFACTS_DIR),
            time_budget_s=_parse(env, TIME_BUDGET_VARIABLE, _positive(float), "a positive number of seconds"),
            n_trials=_parse(env, TRIALS_VARIABLE, _positive(int), "a positive whole number"),
            fast_training=bool(fast),
            thorough=bool(thorough),
            input_paths=tuple(Path(p) for p in env.get(INPUT_PATHS_VARIABLE, "").split(os.pathsep) if p.strip()),
            include_default_data=True if default_data is None else default_data,
            dagster_home=_path(env.get(DAGSTER_HOME_VARIABLE) or DEFAULT_DAGSTER_HOME),
            lock_wait_s=_parse(env, LOCK_WAIT_VARIABLE, _positive(float), "a positive number of seconds")
            or DEFAULT_LOCK_WAIT_S,
        )

    def with_overrides(self, **values: Any) -> Settings:
        """These settings with each value that is not ``None`` replaced (command-line options, run config)."""
        return replace(self, **{name: value for name, value in values.items() if value is not None})

    def training_config(self) -> TrainingConfig:
        """``TrainingConfig`` (or its fast or thorough variant) with this budget; unset knobs keep its defaults."""
        from predictive_performance.modeling import TrainingConfig  # the learners load only where training runs

        build = TrainingConfig.fast if self.fast_training else TrainingConfig.thorough if self.thorough else TrainingConfig
        chosen = {"time_budget_s": self.time_budget_s, "n_trials": self.n_trials}
        return build(**{name: value for name, value in chosen.items() if value is not None})


def database_path() -> Path:
    """The warehouse file: ``$BENCHMARK_DB_PATH``, else ``./data/benchmarks.duckdb``, made absolute."""
    return Settings.from_env().warehouse


def artifacts_dir() -> Path:
    """Where trained models, reports and charts are written: ``$PERFPREDICT_ARTIFACTS``, else ``./artifacts``."""
    return Settings.from_env().artifacts


def export_dagster_home(settings: Settings | None = None) -> Path:
    """Set ``$DAGSTER_HOME`` to the settings' instance folder when unset, and return the folder.

    Dagster reads the variable itself (``DagsterInstance.get``, the webserver, the daemon), so the
    CLI, the sensor's runs and the UI share one instance only if it is in the environment.
    """
    home = (settings or Settings.from_env()).dagster_home
    os.environ.setdefault(DAGSTER_HOME_VARIABLE, str(home))
    return home


def _path(value: str | Path) -> Path:
    return Path(value).expanduser().resolve()


def _parse(env: Mapping[str, str], variable: str, parse: Callable[[str], T], expected: str) -> T | None:
    """``$variable`` parsed, ``None`` when unset or blank."""
    raw = env.get(variable, "").strip()
    if not raw:
        return None
    try:
        return parse(raw)
    except ValueError as error:
        raise SettingsError(f"environment variable {variable}={raw!r} is not valid: expected {expected}") from error


def _boolean(raw: str) -> bool:
    word = raw.lower()
    if word not in TRUE_WORDS | FALSE_WORDS:
        raise ValueError(word)
    return word in TRUE_WORDS


def _positive(kind: Callable[[str], T]) -> Callable[[str], T]:
    def parse(raw: str) -> T:
        value = kind(raw)
        if not value > 0:
            raise ValueError(raw)
        return value

    return parse
