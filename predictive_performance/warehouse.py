"""The DuckDB benchmark warehouse: schema on first use, append-only raw loads, read helpers.

Raw rows are never updated or deleted. Each ingest is one transaction that appends its rows
under a fresh load id together with a ``raw.loads`` record, so a failed ingest leaves the
warehouse exactly as it was and any later run can be traced to the loads it used.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from predictive_performance.schema import RAW_DDL, RESULT_COLUMNS
from predictive_performance.settings import DEFAULT_LOCK_WAIT_S, Settings

if TYPE_CHECKING:  # every command imports this module for WarehouseError; the engine loads with a connection
    import duckdb
    import pandas as pd



class WarehouseError(RuntimeError):
    """The warehouse file cannot be used (locked by another process, corrupt, unreadable)."""


@dataclass(frozen=True)
class CatalogFacts:
    """Devices and models a source describes, one frame per ``raw.catalog_*`` table (without ``load_id``)."""

    hardware: pd.DataFrame | None = None  # hardware_name, vendor, hardware_platform, device_class, architecture, release_year, source
    hardware_specs: pd.DataFrame | None = None  # hardware_name, spec, value, source
    models: pd.DataFrame | None = None  # model_name, model_family, model_type, modality, source
    model_specs: pd.DataFrame | None = None  # model_name, spec, value, source

    def tables(self) -> dict[str, pd.DataFrame]:
        """The non-empty frames by the raw table they go to."""
        frames = {
            "raw.catalog_hardware": self.hardware,
            "raw.catalog_hardware_specs": self.hardware_specs,
            "raw.catalog_models": self.models,
            "raw.catalog_model_specs": self.model_specs,
        }
        return {table: frame for table, frame in frames.items() if frame is not None and not frame.empty}


@dataclass(frozen=True)
class LoadRecord:
    """What one ingest adds: the measured rows plus the detail tables that travel with them."""

    source: str
    format: str
    results: pd.DataFrame
    path: str | None = None
    rows_rejected: int = 0
    rows_skipped: int = 0
    hardware_systems: pd.DataFrame | None = None
    failures: pd.DataFrame | None = None
    content_sha256: str | None = None
    catalog: CatalogFacts | None = None


def new_load_id() -> str:
    """A load id that sorts by time, so sensors can use it as a cursor."""
    return f"{datetime.now(UTC):%Y%m%dT%H%M%S%fZ}-{uuid.uuid4().hex[:8]}"


class Warehouse:
    """One DuckDB file. Connections are short-lived: DuckDB allows a single writer process.

    A process that holds the file read-write locks out every other process, and readers lock out
    writers, so opening waits (with backoff, up to ``lock_wait_s``) while another process holds it.
    """

    def __init__(self, path: str | Path, lock_wait_s: float = DEFAULT_LOCK_WAIT_S) -> None:
        self.path = Path(path).expanduser().resolve()
        self.lock_wait_s = lock_wait_s

    @classmethod
    def from_env(cls) -> Warehouse:
        settings = Settings.from_env()
        return cls(settings.warehouse, settings.lock_wait_s)

    def __repr__(self) -> str:
        return f"Warehouse({str(self.path)!r})"

    @contextmanager
    def connect(self, read_only: bool = False) -> Iterator[duckdb.DuckDBPyConnection]:
        """Open the file; a writable connection also makes sure the raw schema exists."""
        if read_only and not self.path.exists():
            raise WarehouseError(f"warehouse {self.path} does not exist yet: ingest benchmark results first")
        self.path.parent.mkdir(parents=True, exist_ok=True)
        connection = self._open(read_only)
        try:
            if not read_only:
                for statement in RAW_DDL:
                    connection.execute(statement)
            yield connection
        finally:
            connection.close()

    def _open(self, read_only: bool) -> duckdb.DuckDBPyConnection:
        """Connect, waiting while another process holds a conflicting lock on the file."""
        import duckdb

        deadline = time.monotonic() + self.lock_wait_s
        delay = 0.05
        while True:
            try:
                return duckdb.connect(str(self.path), read_only=read_only)
            except duckdb.IOException as error:
                if "lock" not in str(error).lower():
                    raise WarehouseError(f"cannot open warehouse {self.path}: {error}") from error
                if time.monotonic() + delay > deadline:
                    raise WarehouseError(
                        f"cannot open warehouse {self.path}: another process holds it "
                        f"(waited {self.lock_wait_s:g} s): {error}"
                    ) from error
            except duckdb.Error as error:
                raise WarehouseError(f"warehouse {self.path} is not a usable DuckDB file: {error}") from error
            time.sleep(delay)
            delay = min(delay * 2, 0.5)

    def ensure_schema(self) -> None:
        with self.connect():
            pass

    def append_load(self, load: LoadRecord) -> str:
        """Append one load in a single transaction and return its load id."""
        load_id = new_load_id()
        results = _with_load_columns(load.results, load_id, RESULT_COLUMNS)
        with self.connect() as connection:
            connection.execute("BEGIN TRANSACTION")
            try:
                _insert_frame(connection, "raw.benchmark_results", results)
                if load.hardware_systems is not None and not load.hardware_systems.empty:
                    _insert_frame(connection, "raw.hardware_systems", load.hardware_systems.assign(load_id=load_id))
                if load.failures is not None and not load.failures.empty:
                    _insert_frame(connection, "raw.failed_benchmarks", load.failures.assign(load_id=load_id))
                for table, frame in (load.catalog.tables() if load.catalog else {}).items():
                    _insert_frame(connection, table, frame.assign(load_id=load_id))
                connection.execute(
                    "INSERT INTO raw.loads VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    [
                        load_id,
                        load.source,
                        load.path,
                        load.format,
                        len(results),
                        load.rows_rejected,
                        load.rows_skipped,
                        datetime.now(UTC).replace(tzinfo=None),
                        load.content_sha256,
                    ],
                )
                connection.execute("COMMIT")
            except Exception:
                connection.execute("ROLLBACK")
                raise
        return load_id

    def query(self, sql: str, parameters: list | None = None) -> pd.DataFrame:
        """Run a read-only query and return a DataFrame."""
        with self.connect(read_only=True) as connection:
            return connection.execute(sql, parameters or []).df()

    def table_exists(self, qualified_name: str) -> bool:
        if not self.path.exists():
            return False
        schema, _, table = qualified_name.rpartition(".")
        found = self.query(
            "SELECT count(*) AS n FROM information_schema.tables WHERE table_schema = ? AND table_name = ?",
            [schema or "main", table],
        )
        return bool(found["n"].iloc[0])

    def row_counts(self) -> dict[str, int]:
        """Rows per raw table: what an ingest must leave unchanged when it fails."""
        self.ensure_schema()
        tables = (
            "loads", "benchmark_results", "hardware_systems", "failed_benchmarks",
            "catalog_hardware", "catalog_hardware_specs", "catalog_models", "catalog_model_specs",
        )
        with self.connect(read_only=True) as connection:
            return {t: connection.execute(f"SELECT count(*) FROM raw.{t}").fetchone()[0] for t in tables}

    def load_with_content(self, content_sha256: str) -> str | None:
        """The load that already stored this exact content, if any."""
        if not self.table_exists("raw.loads"):
            return None
        found = self.query("SELECT min(load_id) AS load_id FROM raw.loads WHERE content_sha256 = ?", [content_sha256])
        return found["load_id"].iloc[0]

    def latest_load_id(self) -> str | None:
        """The newest load id, or None for an empty (or missing) warehouse."""
        if not self.table_exists("raw.loads"):
            return None
        return self.query("SELECT max(load_id) AS load_id FROM raw.loads")["load_id"].iloc[0]


def _with_load_columns(frame: pd.DataFrame, load_id: str, columns: tuple) -> pd.DataFrame:
    """Order columns as the table has them, adding empty ones the source did not carry."""
    import pandas as pd

    ordered = pd.DataFrame(index=frame.index)
    ordered["load_id"] = load_id
    ordered["source_row"] = frame["source_row"].astype("int64")
    for name in ("source_file", "source_location"):
        ordered[name] = frame[name] if name in frame else None
    for column in columns:
        ordered[column.name] = frame[column.name] if column.name in frame else None
    return ordered.reset_index(drop=True)


def _insert_frame(connection: duckdb.DuckDBPyConnection, table: str, frame: pd.DataFrame) -> None:
    """Insert by column name so the frame's column order does not matter."""
    connection.register("incoming_frame", frame)
    try:
        columns = ", ".join(frame.columns)
        connection.execute(f"INSERT INTO {table} ({columns}) SELECT {columns} FROM incoming_frame")
    finally:
        connection.unregister("incoming_frame")
