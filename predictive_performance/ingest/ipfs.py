"""Importer for the IPFS Accelerate benchmark DuckDB schema.

That schema keeps results in ``performance_results`` keyed to ``models``,
``hardware_platforms`` and ``test_runs``; extra figures (sequence length, power) sit in
JSON ``metrics`` columns or, in some versions, a ``power_metrics`` table.
"""

from __future__ import annotations

from pathlib import Path

import duckdb

from predictive_performance.ingest.canonical import UnreadableFileError
from predictive_performance.ingest.sources import SourceFormat, SourceTables

SOURCE = "ipfs-accelerate"
REQUIRED_TABLES = ("models", "hardware_platforms", "test_runs", "performance_results")
DUCKDB_SUFFIXES = (".duckdb", ".db")

RESULTS_SQL = """
select
    r.result_id as source_row,
    m.model_name,
    m.model_family,
    coalesce(json_extract_string(m.metadata, '$.model_type'), m.modality) as model_type,
    h.hardware_type as hardware_platform,
    coalesce(h.device_name, h.hardware_type) as hardware_name,
    coalesce(try_cast(json_extract_string(h.metadata, '$.num_devices') as integer), 1) as num_devices,
    r.batch_size,
    r.precision,
    case when lower(t.test_type) like '%train%' then 'training' else 'inference' end as mode,
    try_cast(json_extract_string(r.metrics, '$.sequence_length') as integer) as sequence_length,
    r.throughput_items_per_second as throughput,
    r.average_latency_ms as latency_ms,
    r.memory_peak_mb as memory_mb,
    {power} as power_w,
    -- its power_metrics and metrics figures are the device's own sensors, never a wall meter
    case when {power} is not null then 'accelerators' end as power_scope,
    r.created_at as measured_at,
    h.platform as framework
from performance_results as r
join models as m using (model_id)
join hardware_platforms as h using (hardware_id)
join test_runs as t using (run_id)
{power_join}
where coalesce(t.success, true)
order by r.result_id
"""

POWER_FROM_METRICS = (
    "coalesce(try_cast(json_extract_string(r.metrics, '$.power_watts') as double),"
    " try_cast(json_extract_string(r.metrics, '$.average_power_w') as double),"
    " try_cast(json_extract_string(r.metrics, '$.power_w') as double))"
)


def is_ipfs_database(path: Path) -> bool:
    return path.is_file() and path.suffix.lower() in DUCKDB_SUFFIXES


def database_files(path: Path) -> list[Path]:
    """Each database is one load; a directory's databases in name order."""
    if path.is_dir():
        return sorted(p for p in path.iterdir() if p.suffix.lower() in DUCKDB_SUFFIXES)
    return [path]


def read_ipfs(path: Path) -> SourceTables:
    """Canonical rows for every successful result; ``source_row`` is the source's result_id."""
    try:
        connection = duckdb.connect(str(path), read_only=True)
    except duckdb.Error as error:
        raise UnreadableFileError(f"{path}: cannot be opened as a DuckDB database: {error}") from error
    try:
        tables = set(connection.execute("select table_name from information_schema.tables").df()["table_name"])
        missing = [table for table in REQUIRED_TABLES if table not in tables]
        if missing:
            raise UnreadableFileError(f"{path}: not an IPFS Accelerate benchmark database; missing table(s): {', '.join(missing)}")
        power, power_join = POWER_FROM_METRICS, ""
        if "power_metrics" in tables:
            # One average per run, model and device; metrics JSON wins where both exist.
            power = f"coalesce({POWER_FROM_METRICS}, p.power_watts_avg)"
            power_join = (
                "left join (select run_id, model_id, hardware_id, avg(power_watts_avg) as power_watts_avg"
                " from power_metrics group by all) as p using (run_id, model_id, hardware_id)"
            )
        frame = connection.execute(RESULTS_SQL.format(power=power, power_join=power_join)).df()
    finally:
        connection.close()
    return SourceTables(SOURCE, {str(path): frame.assign(source=SOURCE)})


FORMAT = SourceFormat("ipfs", detect=is_ipfs_database, read=read_ipfs, loads=database_files)
