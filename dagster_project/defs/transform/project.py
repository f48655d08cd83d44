"""The dbt project Dagster builds, and the manifest its assets are read from.

``@dbt_assets`` reads ``target/manifest.json`` when its module is imported, so the manifest has to
exist before Dagster loads, and describe the project as it is now: a test whose arguments changed has
a new id, which a stale manifest lacks. ``make setup`` parses once, ``perfpredict run`` and the test
session call ``prepare_dbt_manifest`` (which parses again after an edit or a pull changed the
project), and under ``dagster dev`` ``prepare_if_dev`` re-parses on every load
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


# what dbt parses: the project file and its resource folders
PROJECT_FILES: tuple[str, ...] = ("dbt_project.yml", "models", "seeds", "macros", "tests", "snapshots", "analyses")


def manifest_is_stale() -> bool:
    """Whether there is no manifest (a fresh clone) or a file of the dbt project changed after it was written."""
    manifest = dbt_project.manifest_path
    if not manifest.exists():
        return True
    written = manifest.stat().st_mtime
    paths = (DBT_PROJECT_DIR / name for name in PROJECT_FILES)
    files = (f for path in paths for f in ([path] if path.is_file() else path.rglob("*")) if f.is_file())
    return any(f.stat().st_mtime > written for f in files)


def prepare_dbt_manifest() -> None:
    """Parse the dbt project when its manifest is missing or older than the project (``manifest_is_stale``)."""
    if manifest_is_stale():
        dbt_cli().cli(["--quiet", "parse"], target_path=dbt_project.target_path).wait()
