"""The project's one persistent Dagster instance: where CLI, UI, sensor and schedule runs all land.

Its folder is ``Settings.dagster_home`` (``$DAGSTER_HOME``, else ``./.dagster``). A folder without a
``dagster.yaml`` gets the one below: the DefaultRunCoordinator launches a run as soon as it is
submitted, so the webserver alone can run "Materialize all" (the queued coordinator would wait for a
daemon), and under ``dagster dev`` the sensor and the schedule launch theirs the same way.
``python -m dagster_project.instance`` prepares the folder (the Makefile's ``dagster-dev`` does).
"""

from __future__ import annotations

from pathlib import Path

import dagster as dg

from predictive_performance.settings import DAGSTER_HOME_VARIABLE, Settings, SettingsError, export_dagster_home

INSTANCE_FILE = "dagster.yaml"
INSTANCE_YAML = """\
# perfpredict's Dagster instance (dagster_project/instance.py wrote it; edit freely, it is not rewritten).
run_coordinator:
  module: dagster._core.run_coordinator
  class: DefaultRunCoordinator
telemetry:
  enabled: false
nux:
  enabled: false  # the "Join the Dagster community" dialog would cover the asset graph
python_logs:
  managed_python_loggers: [perfpredict.progress]  # the library's progress lines in each run's logs
  python_log_level: INFO
"""


def prepare_instance_folder(settings: Settings | None = None) -> Path:
    """The instance folder, named in ``$DAGSTER_HOME`` and holding a ``dagster.yaml``, created if missing.

    Raises ``SettingsError`` naming the variable when the folder cannot be made: the user's to fix.
    """
    home = export_dagster_home(settings)
    config = home / INSTANCE_FILE
    try:
        home.mkdir(parents=True, exist_ok=True)
        if not config.exists():
            config.write_text(INSTANCE_YAML)
    except OSError as error:
        raise SettingsError(f"{DAGSTER_HOME_VARIABLE}={home} cannot hold the Dagster instance: {error}") from error
    return home


def project_instance(settings: Settings | None = None) -> dg.DagsterInstance:
    """The persistent instance in the settings' folder; close it (``with``) when the run is done."""
    return dg.DagsterInstance.from_config(str(prepare_instance_folder(settings)))


if __name__ == "__main__":
    print(prepare_instance_folder())
