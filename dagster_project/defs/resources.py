"""Connections shared by the assets (the DuckDB warehouse, the dbt project) and run defaults from the environment."""

import os
import shutil
import sys
from pathlib import Path
from typing import TypeVar

import dagster as dg
import pydantic
from dagster_dbt import DbtCliResource, DbtProject

from predictive_performance.config import DB_PATH_VARIABLE, DBT_PROJECT_DIR, database_path
from predictive_performance.warehouse import Warehouse

# dbt's profile and the warehouse resource read the same variable; give it the default once.
os.environ.setdefault(DB_PATH_VARIABLE, str(database_path()))

T = TypeVar("T", bool, int, float)

dbt_project = DbtProject(project_dir=DBT_PROJECT_DIR, profiles_dir=DBT_PROJECT_DIR)


class WarehouseResource(dg.ConfigurableResource):
    """The benchmark warehouse file; DuckDB allows one writer, so connections stay short."""

    db_path: str

    def get(self) -> Warehouse:
        return Warehouse(self.db_path)


def ensure_dbt_manifest() -> None:
    """Parse the dbt project when no manifest exists yet (a fresh clone), or on every load in `dagster dev`."""
    if dbt_project.manifest_path.exists() and not dbt_project.preparer.using_dagster_dev():
        return
    dbt = DbtCliResource(project_dir=dbt_project, dbt_executable=dbt_executable())
    dbt.cli(["--quiet", "parse"], target_path=dbt_project.target_path).wait()


def dbt_executable() -> str:
    """dbt from PATH, else the one installed beside this interpreter (a venv that is not activated)."""
    return shutil.which("dbt") or str(Path(sys.executable).with_name("dbt"))


def build_resources() -> dict[str, dg.ConfigurableResource]:
    return {
        "warehouse": WarehouseResource(db_path=dg.EnvVar(DB_PATH_VARIABLE)),
        "dbt": DbtCliResource(project_dir=dbt_project, dbt_executable=dbt_executable()),
    }


def env_default(variable: str, default: T) -> T:
    """``$variable`` read as the type of ``default`` (pydantic's lax parsing: "5", "false", "no"), else ``default``.

    Config defaults read this when the definitions load, so runs launched without run config (the UI's
    "Materialize all", the sensor, the schedule) follow the environment `dagster dev` started in.
    """
    raw = os.environ.get(variable, "").strip()
    if not raw:
        return default
    try:
        return pydantic.TypeAdapter(type(default)).validate_python(raw)
    except pydantic.ValidationError as error:
        raise ValueError(f"environment variable {variable}={raw!r} is not a valid {type(default).__name__}") from error
