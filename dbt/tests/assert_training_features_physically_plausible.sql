-- No training row may claim more than its device can do (int_benchmark_results_plausibility):
-- implausible rows stay in fct_benchmark_results and never reach training_features.
-- Dagster shows it as a check of training_features, the table it protects.
{{ config(meta={'dagster': {'ref': {'name': 'training_features'}}}) }}
with

flagged as (

    select load_id, source_row, implausible_reason
    from {{ ref('fct_benchmark_results') }}
    where is_implausible

)

select
    features.load_id,
    features.source_row,
    flagged.implausible_reason
from {{ ref('training_features') }} as features
inner join flagged
    on features.load_id = flagged.load_id
    and features.source_row = flagged.source_row
