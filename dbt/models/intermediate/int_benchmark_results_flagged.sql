-- Robust outlier flag on log throughput per device. A row is compared with the other rows of the
-- same configuration (var outlier_group_by: model, device, platform, precision, mode, batch size
-- and input size; num_devices is divided out), so a batch-size sweep is not mistaken for noise.
--   modified z = 0.6745 * (x - median) / MAD,  outlier when |z| > 3.5 in a group of >= 4 rows.
-- The MAD is floored at var outlier_min_mad (log units, ~5 %): when a handful of repeats agree to
-- within a percent, a few percent of difference is normal run-to-run drift, not an outlier.
{%- set group_by = var('outlier_group_by') | join(', ') %}

with

imputed as (

    select * from {{ ref('int_benchmark_results_imputed') }}

),

logged as (

    select
        *,
        ln(throughput / num_devices) as log_throughput_per_device
    from imputed

),

centred as (

    select
        *,
        median(log_throughput_per_device) over (partition by {{ group_by }}) as group_median,
        count(*) over (partition by {{ group_by }}) as outlier_group_rows
    from logged

),

spread as (

    select
        *,
        median(abs(log_throughput_per_device - group_median)) over (partition by {{ group_by }}) as group_mad
    from centred

),

scored as (

    select
        *,
        0.6745 * (log_throughput_per_device - group_median)
            / greatest(group_mad, {{ var('outlier_min_mad') }}) as outlier_score
    from spread

),

final as (

    select
        * exclude (group_median, group_mad),
        outlier_score,
        coalesce(
            outlier_group_rows >= {{ var('outlier_min_group_rows') }}
            and abs(outlier_score) > {{ var('outlier_z_threshold') }},
            false
        ) as is_outlier
    from scored

)

select * from final
