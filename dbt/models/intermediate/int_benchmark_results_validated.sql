-- Every normalized row with the reasons it cannot be used (null when it can). Invalid rows stay
-- here for auditing; everything downstream keeps only the valid ones.

with

normalized as (

    select * from {{ ref('int_benchmark_results_normalized') }}

),

checked as (

    select
        *,
        concat_ws(', ',
            case when not is_known_model then 'unknown model' end,
            case when not is_known_hardware then 'unknown hardware' end,
            case
                -- only a system that chose its own batch (MLPerf Offline / Server) may leave it empty
                when batch_size is null and workload not in {{ sql_list(var('system_batched_workloads')) }}
                    then 'missing batch_size'
                when batch_size <= 0 then 'non-positive batch_size'
            end,
            case when num_devices <= 0 then 'non-positive num_devices' end,
            case when throughput is null and latency_ms is null then 'no throughput or latency' end,
            {%- for measure in var('metric_columns') %}
            case
                when {{ measure }} is null then null
                when not isfinite({{ measure }}) then 'non-finite {{ measure }}'
                when {{ measure }} <= 0 then 'non-positive {{ measure }}'
            end,
            {%- endfor %}
            case
                when precision is null or precision not in {{ sql_list(var('precisions')) }}
                    then 'invalid precision'
            end,
            case when mode is null or mode not in {{ sql_list(var('modes')) }} then 'invalid mode' end,
            case
                when hardware_platform is null or hardware_platform not in {{ sql_list(var('platforms')) }}
                    then 'invalid platform'
            end,
            case when workload not in {{ sql_list(var('workloads')) }} then 'invalid workload' end,
            case when latency_kind not in {{ sql_list(var('latency_kinds')) }} then 'invalid latency_kind' end,
            case when power_scope not in {{ sql_list(var('power_scopes')) }} then 'invalid power_scope' end,
            case when parallelism not in {{ sql_list(var('parallelisms')) }} then 'invalid parallelism' end,
            -- accelerator and wall power are never mixed, so a power without its scope cannot be used
            case when power_w is not null and power_scope is null then 'power_w without power_scope' end
        ) as reasons
    from normalized

),

final as (

    select
        * exclude (reasons),
        nullif(reasons, '') as invalid_reason,
        reasons = '' as is_valid
    from checked

)

select * from final
