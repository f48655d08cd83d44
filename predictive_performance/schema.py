"""The canonical benchmark result and the raw warehouse tables that hold it.

One row is one measured configuration (docs/architecture.md, "Contracts"). Importers map every
source format to these columns; the warehouse stores them append-only in
``raw.benchmark_results`` together with the load that brought them.
"""

from __future__ import annotations

from dataclasses import dataclass

from predictive_performance.vocabulary import metric_columns


@dataclass(frozen=True)
class Column:
    """One canonical column: its DuckDB type and whether a row may leave it empty."""

    name: str
    sql_type: str
    required: bool = False

    @property
    def is_numeric(self) -> bool:
        return self.sql_type in {"INTEGER", "BIGINT", "DOUBLE"}

    @property
    def ddl(self) -> str:
        return f"{self.name} {self.sql_type}"


CANONICAL_COLUMNS: tuple[Column, ...] = (
    Column("model_name", "VARCHAR", required=True),
    Column("model_family", "VARCHAR"),
    Column("model_type", "VARCHAR"),
    Column("hardware_platform", "VARCHAR", required=True),
    Column("hardware_name", "VARCHAR", required=True),
    Column("num_devices", "INTEGER"),
    # per device (serving: the concurrency cap per replica); the column is required, its value may be
    # empty only in the workloads where the system chose the batch (vocabulary.SYSTEM_BATCHED_WORKLOADS)
    Column("batch_size", "INTEGER", required=True),
    Column("precision", "VARCHAR", required=True),
    Column("mode", "VARCHAR", required=True),
    Column("workload", "VARCHAR"),  # vocabulary.WORKLOADS; empty means static_batch
    Column("task", "VARCHAR"),  # the request set or benchmark that fixes the inputs, e.g. "lm-arena-chat"
    Column("sequence_length", "INTEGER"),
    *(Column(name, "DOUBLE") for name in metric_columns()),  # throughput is items per second of the whole system
    Column("latency_kind", "VARCHAR"),  # what latency_ms means (vocabulary.LATENCY_KINDS); empty means batch
    Column("power_scope", "VARCHAR"),  # what power_w covers (vocabulary.POWER_SCOPES); required with power_w
    Column("source", "VARCHAR"),
    Column("measured_at", "TIMESTAMP"),
)

# Optional detail that some sources carry; kept so nothing measured is thrown away.
EXTRA_COLUMNS: tuple[Column, ...] = (
    Column("system_name", "VARCHAR"),  # the source's own name of the machine, e.g. "Dell 8x H100 80GB SXM5"
    # input resolution for vision and diffusion models: the side of a square image, or of the square with
    # a non-square output's pixel count, so that (image_size / reference)^2 is the ratio of pixels
    Column("image_size", "INTEGER"),
    Column("num_frames", "INTEGER"),  # frames of one generated video
    Column("denoising_steps", "INTEGER"),  # denoising steps of one generated image or video
    Column("latency_p50_ms", "DOUBLE"),
    Column("latency_p90_ms", "DOUBLE"),
    Column("latency_p99_ms", "DOUBLE"),
    Column("throughput_cv", "DOUBLE"),  # coefficient of variation over repeats
    Column("repeats", "INTEGER"),
    Column("framework", "VARCHAR"),  # runtime and version, e.g. "torch 2.13.0"
    Column("hardware_description", "VARCHAR"),  # free text about the machine that measured the row
    Column("energy_per_item_j", "DOUBLE"),  # energy per output item (token, image, response), as the source measured it
    Column("power_derived", "BOOLEAN"),  # power_w computed from energy x rate, not measured as power
    Column("parallelism", "VARCHAR"),  # how a multi-device row splits the work (vocabulary.PARALLELISMS)
    Column("compiled", "BOOLEAN"),  # a fused / compiled graph rather than eager execution
)

RESULT_COLUMNS: tuple[Column, ...] = CANONICAL_COLUMNS + EXTRA_COLUMNS
COLUMN_BY_NAME: dict[str, Column] = {column.name: column for column in RESULT_COLUMNS}
REQUIRED_COLUMNS: tuple[str, ...] = tuple(c.name for c in CANONICAL_COLUMNS if c.required)


def _column_ddl(columns: tuple[Column, ...]) -> str:
    return ",\n    ".join(column.ddl for column in columns)


RAW_DDL: tuple[str, ...] = (
    "CREATE SCHEMA IF NOT EXISTS raw",
    """
    CREATE TABLE IF NOT EXISTS raw.loads (
        load_id VARCHAR PRIMARY KEY,
        source VARCHAR NOT NULL,
        path VARCHAR,
        format VARCHAR NOT NULL,
        rows_accepted INTEGER NOT NULL,
        rows_rejected INTEGER NOT NULL,
        rows_skipped INTEGER NOT NULL,
        loaded_at TIMESTAMP NOT NULL,
        content_sha256 VARCHAR  -- of the source file(s); the same content is never loaded twice
    )
    """,
    f"""
    CREATE TABLE IF NOT EXISTS raw.benchmark_results (
        load_id VARCHAR NOT NULL,
        source_row INTEGER NOT NULL,  -- unique within the load
        source_file VARCHAR,  -- the file the row came from
        source_location VARCHAR,  -- where in that file, e.g. "row 8, column ncf"
        {_column_ddl(RESULT_COLUMNS)}
    )
    """,
    # A warehouse created before a column existed gains it (empty for its earlier rows).
    *(f"ALTER TABLE raw.benchmark_results ADD COLUMN IF NOT EXISTS {column.ddl}" for column in RESULT_COLUMNS),
    # Rated power and list price describe a system, not a measurement: they live here.
    """
    CREATE TABLE IF NOT EXISTS raw.hardware_systems (
        load_id VARCHAR NOT NULL,
        system_name VARCHAR NOT NULL,
        hardware_name VARCHAR NOT NULL,
        num_devices INTEGER NOT NULL,
        rated_power_w DOUBLE,
        list_price_usd DOUBLE,
        source VARCHAR NOT NULL
    )
    """,
    # Configurations that a runner tried and could not measure, with the reason.
    """
    CREATE TABLE IF NOT EXISTS raw.failed_benchmarks (
        load_id VARCHAR NOT NULL,
        model_name VARCHAR NOT NULL,
        hardware_platform VARCHAR NOT NULL,
        hardware_name VARCHAR,
        batch_size INTEGER,
        precision VARCHAR,
        mode VARCHAR,
        sequence_length INTEGER,
        image_size INTEGER,
        error VARCHAR NOT NULL,
        source VARCHAR,
        measured_at TIMESTAMP
    )
    """,
    # Catalog facts that a source states about its devices and models (e.g. NeuSight's device configs),
    # in the layout of the dbt seeds; dbt adds them to the catalog where the seeds are silent.
    """
    CREATE TABLE IF NOT EXISTS raw.catalog_hardware (
        load_id VARCHAR NOT NULL,
        hardware_name VARCHAR NOT NULL,
        vendor VARCHAR,
        hardware_platform VARCHAR,
        device_class VARCHAR,
        architecture VARCHAR,
        release_year INTEGER,
        source VARCHAR NOT NULL
    )
    """,
    """
    CREATE TABLE IF NOT EXISTS raw.catalog_hardware_specs (
        load_id VARCHAR NOT NULL,
        hardware_name VARCHAR NOT NULL,
        spec VARCHAR NOT NULL,
        value DOUBLE NOT NULL,
        source VARCHAR NOT NULL
    )
    """,
    """
    CREATE TABLE IF NOT EXISTS raw.catalog_models (
        load_id VARCHAR NOT NULL,
        model_name VARCHAR NOT NULL,
        model_family VARCHAR,
        model_type VARCHAR,
        modality VARCHAR,
        source VARCHAR NOT NULL
    )
    """,
    """
    CREATE TABLE IF NOT EXISTS raw.catalog_model_specs (
        load_id VARCHAR NOT NULL,
        model_name VARCHAR NOT NULL,
        spec VARCHAR NOT NULL,
        value DOUBLE NOT NULL,
        source VARCHAR NOT NULL
    )
    """,
)
