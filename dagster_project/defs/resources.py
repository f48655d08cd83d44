"""Connections shared by the assets: the DuckDB warehouse and the dbt project."""

import os

import dagster as dg

from dagster_project.defs.transform.project import dbt_cli
from predictive_performance.settings import DB_PATH_VARIABLE, database_path
from predictive_performance.warehouse import Warehouse


class WarehouseResource(dg.ConfigurableResource):
    """The benchmark warehouse file; DuckDB allows one writer, so connections stay short."""

    db_path: str

    def get(self) -> Warehouse:
        return Warehouse(self.db_path)


def build_resources() -> dict[str, dg.ConfigurableResource]:
    """The warehouse and dbt, both on the file ``$BENCHMARK_DB_PATH`` names."""
    # dbt's profile and the warehouse resource read the same variable; give it the default once.
    os.environ.setdefault(DB_PATH_VARIABLE, str(database_path()))
    return {"warehouse": WarehouseResource(db_path=dg.EnvVar(DB_PATH_VARIABLE)), "dbt": dbt_cli()}
