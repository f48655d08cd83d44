"""Publishing reader-facing tables whole, so that readers never see a half-written version.

DuckDB lets one process write a file at a time, a reader cannot open the file while a writer holds
it, and a writer cannot open it while a reader does. So writers keep their connection short and
replace every published table inside one transaction (a reader sees the old version or the new one,
never a mix), and both sides wait for a bounded time while the file is busy (``Warehouse.connect``).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager

import duckdb
import pandas as pd

from predictive_performance.warehouse import Warehouse


@contextmanager
def transaction(warehouse: Warehouse) -> Iterator[duckdb.DuckDBPyConnection]:
    """A short writable connection whose statements commit together or not at all."""
    with warehouse.connect() as connection:
        connection.execute("BEGIN TRANSACTION")
        try:
            yield connection
            connection.execute("COMMIT")
        except Exception:
            connection.execute("ROLLBACK")
            raise


def publish_tables(warehouse: Warehouse, tables: Mapping[str, pd.DataFrame]) -> None:
    """Replace each ``schema.table`` with its frame, all in one transaction."""
    with transaction(warehouse) as connection:
        for name, frame in tables.items():
            connection.execute(f"CREATE SCHEMA IF NOT EXISTS {name.split('.')[0]}")
            connection.register("published_frame", frame)
            connection.execute(f"CREATE OR REPLACE TABLE {name} AS SELECT * FROM published_frame")
            connection.unregister("published_frame")


def promote_tables(warehouse: Warehouse, targets: Mapping[str, str]) -> dict[str, int]:
    """Copy staged tables over published ones (``{published: staged}``) in one transaction; row counts."""
    with transaction(warehouse) as connection:
        for published, staged in targets.items():
            connection.execute(f"CREATE SCHEMA IF NOT EXISTS {published.split('.')[0]}")
            connection.execute(f"CREATE OR REPLACE TABLE {published} AS SELECT * FROM {staged}")
        return {name: connection.execute(f"SELECT count(*) FROM {name}").fetchone()[0] for name in targets}
