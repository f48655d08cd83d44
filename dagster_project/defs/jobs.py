"""Jobs: the whole pipeline in one run."""

from __future__ import annotations

import dagster as dg

build_everything = dg.define_asset_job(
    "build_everything",
    selection=dg.AssetSelection.all(),
    description="Ingest new data, run dbt, check every gate, then train and publish downstream.",
)
