-- Valid rows with both throughput and latency. batch_size is per device and throughput is the
-- whole system's, so one step moves batch_size * num_devices items:
--   latency_ms = batch_size * num_devices / throughput * 1000, and the reverse.
-- Units need no conversion: the canonical columns are already items/s, ms, MB and W.
with

validated as (

    select * from {{ ref('int_benchmark_results_validated') }}
    where is_valid

),

final as (

    select
        * exclude (throughput, latency_ms, invalid_reason, is_valid),
        coalesce(
            throughput,
            batch_size * num_devices / (latency_ms / 1000.0)
        ) as throughput,
        coalesce(
            latency_ms,
            batch_size * num_devices / throughput * 1000.0
        ) as latency_ms,
        throughput is null as throughput_imputed,
        latency_ms is null as latency_imputed
    from validated

)

select * from final
