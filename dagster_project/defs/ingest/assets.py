"""The raw tables: new files and the default data land here, append-only, one load id per ingest."""

from pathlib import Path

import dagster as dg

from dagster_project.defs.resources import WarehouseResource
from predictive_performance.default_data import ingest_default_data
from predictive_performance.ingest import ingest_path
from predictive_performance.settings import Settings

RAW_RESULTS_KEY = dg.AssetKey(["raw", "benchmark_results"])
RAW_TABLES = {
    "benchmark_results": "Every measured benchmark row, tagged with the load that brought it.",
    "loads": "One row per ingest: source, format, rows accepted, rejected and skipped, content hash.",
    "hardware_systems": "Systems named by sources, with rated power and list price (attributes, not measurements).",
    "failed_benchmarks": "Configurations a runner tried and could not measure, with the reason.",
    "catalog_hardware": "Devices a source describes (e.g. NeuSight's device configs, a micro-benchmarked new device).",
    "catalog_hardware_specs": "Their figures, one per row with its source; dbt fills the catalog's gaps with them.",
    "catalog_models": "Models a source describes (e.g. NeuSight's model configs, ML.ENERGY's index).",
    "catalog_model_specs": "Their figures, one per row with its source; dbt fills the catalog's gaps with them.",
}


class IngestConfig(dg.Config):
    """What a run ingests first; a field left out (the UI, `dagster dev`) comes from ``Settings`` at run time."""

    paths: list[str] | None = None
    include_default_data: bool | None = None

    def settings(self) -> Settings:
        paths = None if self.paths is None else tuple(Path(path) for path in self.paths)
        return Settings.from_env().with_overrides(input_paths=paths, include_default_data=self.include_default_data)


@dg.multi_asset(
    name="raw_tables",
    specs=[
        dg.AssetSpec(dg.AssetKey(["raw", table]), description=description, group_name="ingest", kinds={"duckdb"})
        for table, description in RAW_TABLES.items()
    ],
)
def raw_tables(context: dg.AssetExecutionContext, config: IngestConfig, warehouse: WarehouseResource):
    """Ingest `paths` (format detected from content), plus the default data when not loaded yet."""
    store, settings = warehouse.get(), config.settings()
    reports = ingest_default_data(store) if settings.include_default_data else []
    for path in settings.input_paths:
        reports += ingest_path(path, store)
    for report in reports:
        context.log.info(report.summary())
    counts = store.row_counts()
    new_loads = dg.MetadataValue.json([report.load_id for report in reports if report.stored])
    for table in RAW_TABLES:
        yield dg.MaterializeResult(
            asset_key=dg.AssetKey(["raw", table]),
            metadata={"dagster/row_count": counts[table], "new_loads": new_loads, "latest_load_id": store.latest_load_id()},
        )
