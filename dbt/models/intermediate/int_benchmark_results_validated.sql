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
                when batch_size is null then 'missing batch_size'
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
            end
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
