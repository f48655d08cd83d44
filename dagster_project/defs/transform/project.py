"""The dbt project Dagster builds, and the manifest its assets are read from.

``@dbt_assets`` reads ``target/manifest.json`` when its module is imported, so the manifest has to
exist before Dagster loads: ``make setup`` parses once, ``perfpredict run`` and the test session
call ``prepare_dbt_manifest``, and under ``dagster dev`` ``prepare_if_dev`` re-parses on every load
so edits to the dbt project show up (it runs the ``dbt`` on PATH, as ``make dagster-dev`` sets it).
Outside ``dagster dev`` nothing parses on import.
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

from dagster_dbt import DbtCliResource, DbtProject

from predictive_performance.settings import DBT_PROJECT_DIR

dbt_project = DbtProject(project_dir=DBT_PROJECT_DIR, profiles_dir=DBT_PROJECT_DIR)
dbt_project.prepare_if_dev()


def dbt_executable() -> str:
    """dbt from PATH, else the one installed beside this interpreter (a venv that is not activated)."""
    return shutil.which("dbt") or str(Path(sys.executable).with_name("dbt"))


def dbt_cli() -> DbtCliResource:
    """The dbt command line on this project."""
    return DbtCliResource(project_dir=dbt_project, dbt_executable=dbt_executable())


def prepare_dbt_manifest() -> None:
    """Parse the dbt project once when there is no manifest yet (a fresh clone)."""
    if not dbt_project.manifest_path.exists():
        dbt_cli().cli(["--quiet", "parse"], target_path=dbt_project.target_path).wait()
