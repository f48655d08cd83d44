with

source as (

    select * from {{ source('raw', 'benchmark_results') }}

),

final as (

    select
        -- ids
        load_id,
        cast(source_row as integer) as source_row,
        source_file,
        source_location,

        -- dimensions: names keep their spelling (aliases resolve them downstream),
        -- categories are lower-cased so that spelling maps can match them
        nullif(trim(model_name), '') as model_name,
        nullif(lower(trim(model_family)), '') as model_family,
        nullif(lower(trim(model_type)), '') as model_type,
        nullif(lower(trim(hardware_platform)), '') as hardware_platform,
        nullif(trim(hardware_name), '') as hardware_name,
        nullif(trim(system_name), '') as system_name,
        cast(num_devices as integer) as num_devices,
        cast(batch_size as integer) as batch_size,
        nullif(lower(trim(precision)), '') as precision,
        nullif(lower(trim(mode)), '') as mode,
        cast(sequence_length as integer) as sequence_length,
        cast(image_size as integer) as image_size,
        nullif(trim(framework), '') as framework,
        nullif(trim(source), '') as source,
        nullif(trim(hardware_description), '') as hardware_description,

        -- measures
        cast(throughput as double) as throughput,
        cast(latency_ms as double) as latency_ms,
        cast(memory_mb as double) as memory_mb,
        cast(power_w as double) as power_w,
        cast(latency_p50_ms as double) as latency_p50_ms,
        cast(latency_p90_ms as double) as latency_p90_ms,
        cast(throughput_cv as double) as throughput_cv,
        cast(repeats as integer) as repeats,

        -- timestamps
        cast(measured_at as timestamp) as measured_at

    from source

)

select * from final
