"""Which model versions are current, and which loads they were trained on, in plain SQL on ``ml.model_registry``.

One definition for every reader: the held-out table (``modeling.registry.evaluation_table``), ``perfpredict
status`` and the Dagster sensor and schedule. Plain SQL, so none of them loads a model library to ask.
"""

from __future__ import annotations

from predictive_performance.warehouse import Warehouse

# The newest version of each metric (ties on trained_at broken by the version id).
CURRENT_VERSIONS_SQL = """
    select * from ml.model_registry
    qualify row_number() over (partition by metric order by trained_at desc, model_version desc) = 1
"""
# Every load in the data snapshot of a current version.
TRAINED_LOADS_SQL = f"select distinct unnest(load_ids) as load_id from ({CURRENT_VERSIONS_SQL})"


def newest_trained_load_id(warehouse: Warehouse) -> str | None:
    """The newest load the current versions were trained on (load ids sort by time), None before any training."""
    if not warehouse.table_exists("ml.model_registry"):
        return None
    with warehouse.connect(read_only=True) as connection:
        return connection.execute(f"select max(load_id) from ({TRAINED_LOADS_SQL})").fetchone()[0]
