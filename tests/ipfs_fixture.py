"""A small database in the IPFS Accelerate benchmark schema, as its public DDL defines it."""

from __future__ import annotations

from pathlib import Path

import duckdb

DDL = [
    """create table hardware_platforms (hardware_id integer primary key, hardware_type varchar not null,
       device_name varchar, platform varchar, platform_version varchar, driver_version varchar,
       memory_gb double, compute_units integer, metadata json, created_at timestamp default current_timestamp)""",
    """create table models (model_id integer primary key, model_name varchar not null, model_family varchar,
       modality varchar, source varchar, version varchar, parameters_million double, metadata json,
       created_at timestamp default current_timestamp)""",
    """create table test_runs (run_id integer primary key, test_name varchar not null, test_type varchar not null,
       started_at timestamp, completed_at timestamp, execution_time_seconds double, success boolean,
       git_commit varchar, git_branch varchar, command_line varchar, metadata json,
       created_at timestamp default current_timestamp)""",
    """create table performance_results (result_id integer primary key, run_id integer not null,
       model_id integer not null, hardware_id integer not null, test_case varchar not null,
       batch_size integer default 1, precision varchar, total_time_seconds double, average_latency_ms double,
       throughput_items_per_second double, memory_peak_mb double, iterations integer, warmup_iterations integer,
       metrics json, created_at timestamp default current_timestamp)""",
    """create table power_metrics (power_id integer primary key, run_id integer, model_id integer,
       hardware_id integer, power_watts_avg double, power_watts_peak double, energy_joules double)""",
]


def make_ipfs_database(path: Path) -> Path:
    """Two devices, two models, one failed run whose results must not be imported."""
    connection = duckdb.connect(str(path))
    for statement in DDL:
        connection.execute(statement)
    connection.execute("""insert into hardware_platforms (hardware_id, hardware_type, device_name, platform, memory_gb) values
        (1, 'cuda', 'NVIDIA A100 80GB SXM4', 'torch', 80), (2, 'cpu', 'AMD EPYC Zen 5 (2 vCPU)', 'torch', 24)""")
    connection.execute("""insert into models (model_id, model_name, model_family, modality, parameters_million) values
        (1, 'bert-base-uncased', 'bert', 'text', 110), (2, 'vit-base-patch16-224', 'vit', 'vision', 86)""")
    connection.execute("""insert into test_runs (run_id, test_name, test_type, started_at, success) values
        (1, 'nightly', 'performance', '2026-01-05 10:00:00', true),
        (2, 'training', 'training', '2026-01-06 10:00:00', true),
        (3, 'broken', 'performance', '2026-01-07 10:00:00', false)""")
    connection.execute("""insert into performance_results (result_id, run_id, model_id, hardware_id, test_case, batch_size,
            precision, average_latency_ms, throughput_items_per_second, memory_peak_mb, metrics, created_at) values
        (10, 1, 1, 1, 'embedding', 32, 'fp16', 12.0, 2666.7, 2100, '{"sequence_length": 128, "power_watts": 310.5}', '2026-01-05 10:05:00'),
        (11, 1, 2, 2, 'classification', 1, 'float32', 95.0, 10.5, 600, '{}', '2026-01-05 10:06:00'),
        (12, 2, 1, 1, 'finetune', 16, 'bf16', 80.0, 200.0, 30000, '{"sequence_length": 384}', '2026-01-06 10:05:00'),
        (13, 3, 2, 1, 'classification', 8, 'fp16', 5.0, 1600.0, 900, '{}', '2026-01-07 10:05:00')""")
    connection.execute("insert into power_metrics values (1, 2, 1, 1, 295.0, 350.0, 1000.0)")
    connection.close()
    return path
