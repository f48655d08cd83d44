"""The gate before training: the training_features suite on the marts table."""

from __future__ import annotations

from dagster_dbt import get_asset_key_for_model

from dagster_project.defs.checks import suite_check
from dagster_project.defs.transform.assets import perfpredict_dbt_models

TRAINING_FEATURES_KEY = get_asset_key_for_model([perfpredict_dbt_models], "training_features")

training_features_suite = suite_check(TRAINING_FEATURES_KEY, "training_features", "marts.training_features")
