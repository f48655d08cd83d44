"""The dbt project: cleaning (staging, intermediate) and features (marts), every model an asset."""

from collections.abc import Mapping
from typing import Any

import dagster as dg
from dagster_dbt import DagsterDbtTranslator, DbtCliResource, dbt_assets

from dagster_project.defs.transform.project import dbt_project
from predictive_performance.progress import Progress, report, step


class PerfpredictTranslator(DagsterDbtTranslator):
    """Group dbt assets by layer (staging, intermediate, marts, catalog) so the graph reads by stage."""

    def get_group_name(self, dbt_resource_props: Mapping[str, Any]) -> str | None:
        if dbt_resource_props["resource_type"] == "seed":
            return "catalog"
        folders = dbt_resource_props.get("fqn", [])[1:-1]
        return folders[0] if folders else "transform"


@dbt_assets(manifest=dbt_project.manifest_path, project=dbt_project, dagster_dbt_translator=PerfpredictTranslator())
def perfpredict_dbt_models(context: dg.AssetExecutionContext, dbt: DbtCliResource):
    """Seeds, models and tests of the dbt project, built with `dbt build`."""
    with step("dbt", "build", total=len(context.selected_asset_keys)) as advance:
        built = 0
        for event in dbt.cli(["build"], context=context).stream():
            if isinstance(event, dg.Output | dg.AssetMaterialization):  # one per dbt node as it finishes
                built += 1
                name = event.output_name if isinstance(event, dg.Output) else event.asset_key.to_user_string()
                seconds = event.metadata.get("Execution Duration")
                report(Progress("dbt", name, done=True, elapsed_s=getattr(seconds, "value", None)))
                advance(built, detail=name)
            yield event
