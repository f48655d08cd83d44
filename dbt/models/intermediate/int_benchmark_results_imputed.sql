-- Valid rows with the missing one of throughput and latency derived from the other, where the two
-- are the same measurement seen twice: a static batch timed per batch. batch_size is what one device
-- sees and throughput is the whole system's, so one step moves batch_size * num_devices items, or
-- batch_size where the parallelism splits one batch over the devices (var split_parallelisms):
--   latency_ms = items per step / throughput * 1000, and the reverse.
-- Every other row keeps only what it measured: a per-token or per-query latency never becomes a
-- throughput, and a serving or MLPerf Offline throughput never gets a latency.
-- Units need no conversion: the canonical columns are already items/s, ms, MB and W.
with

validated as (

    select * from {{ ref('int_benchmark_results_validated') }}
    where is_valid

),

convertible as (

    select
        *,
        workload = '{{ var("default_workload") }}'
            and coalesce(latency_kind, '{{ var("default_latency_kind") }}') = '{{ var("default_latency_kind") }}'
            and batch_size is not null as is_convertible,
        batch_size * case
            when parallelism in ('{{ var("split_parallelisms") | join("', '") }}') then 1 else num_devices
        end as items_per_step
    from validated

),

final as (

    select
        * exclude (throughput, latency_ms, latency_kind, invalid_reason, is_valid, is_convertible, items_per_step),
        case
            when throughput is null and is_convertible then items_per_step / (latency_ms / 1000.0)
            else throughput
        end as throughput,
        case
            when latency_ms is null and is_convertible then items_per_step / throughput * 1000.0
            else latency_ms
        end as latency_ms,
        case
            when latency_ms is null and is_convertible then '{{ var("default_latency_kind") }}'
            else latency_kind
        end as latency_kind,
        throughput is null and is_convertible as throughput_imputed,
        latency_ms is null and is_convertible as latency_imputed
    from convertible

)

select * from final
