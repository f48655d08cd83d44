"""The gate before publishing: the predictions suite on the staged matrix."""

from dagster_project.defs.checks import suite_check
from dagster_project.defs.predictions.assets import STAGED_MATRIX_KEY

predictions_suite = suite_check(STAGED_MATRIX_KEY, "predictions", "predictions_staging.prediction_matrix")
