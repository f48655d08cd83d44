"""Great Expectations suites as blocking asset checks: a failing suite stops everything downstream."""

import dagster as dg

from dagster_project.defs.resources import WarehouseResource
from predictive_performance.quality import validate_frame


def suite_check(asset_key: dg.AssetKey, suite: str, table: str) -> dg.AssetChecksDefinition:
    """A blocking check that validates ``table`` with the GX suite of the same stage."""

    @dg.asset_check(asset=asset_key, name=f"gx_{suite}", blocking=True, description=f"Great Expectations suite '{suite}' on {table}")
    def _check(warehouse: WarehouseResource) -> dg.AssetCheckResult:
        frame = warehouse.get().query(f"select * from {table}")
        result = validate_frame(frame, suite)
        return dg.AssetCheckResult(
            passed=result.success,
            severity=dg.AssetCheckSeverity.ERROR,
            description=result.describe(),
            metadata={
                "rows": result.rows,
                "expectations": result.evaluated,
                "failed_expectations": dg.MetadataValue.md(result.failures_markdown()) if result.failures else "none",
            },
        )

    return _check
