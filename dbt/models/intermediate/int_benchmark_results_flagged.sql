-- Robust outlier flag on the row's own measure per device: ln(throughput / num_devices), or for a
-- row without throughput (a per-token or per-query latency) -ln(latency_ms). A row is compared
-- only with rows of the same configuration and semantics (var outlier_group_by: model, device,
-- platform, precision, mode, batch and input size, workload, task, latency kind, parallelism,
-- compiled; num_devices is divided out) measured in the same quantity, so neither a batch-size
-- sweep nor a different kind of latency is mistaken for noise.
--   modified z = 0.6745 * (x - median) / MAD,  outlier when |z| > 3.5 in a group of >= 4 rows.
-- The MAD is floored at var outlier_min_mad (log units, ~5 %): when a handful of repeats agree to
-- within a percent, a few percent of difference is normal run-to-run drift, not an outlier.
{%- set group_by = (var('outlier_group_by') + ['outlier_measure']) | join(', ') %}

with

imputed as (

    select * from {{ ref('int_benchmark_results_imputed') }}

),

measured as (

    select
        *,
        -- latencies are not divided by the devices, so rows on different device counts never meet
        case when throughput is not null then 'throughput' else 'latency_ms on ' || num_devices end as outlier_measure,
        coalesce(ln(throughput / num_devices), -ln(latency_ms)) as outlier_value
    from imputed

),

centred as (

    select
        *,
        median(outlier_value) over (partition by {{ group_by }}) as group_median,
        count(*) over (partition by {{ group_by }}) as outlier_group_rows
    from measured

),

spread as (

    select
        *,
        median(abs(outlier_value - group_median)) over (partition by {{ group_by }}) as group_mad
    from centred

),

scored as (

    select
        *,
        0.6745 * (outlier_value - group_median)
            / greatest(group_mad, {{ var('outlier_min_mad') }}) as outlier_score
    from spread

),

final as (

    select
        * exclude (group_median, group_mad),
        coalesce(
            outlier_group_rows >= {{ var('outlier_min_group_rows') }}
            and abs(outlier_score) > {{ var('outlier_z_threshold') }},
            false
        ) as is_outlier
    from scored

)

select * from final
