with

source as (

    select * from {{ source('raw', 'failed_benchmarks') }}

),

final as (

    select
        -- ids
        load_id,

        -- dimensions
        nullif(trim(model_name), '') as model_name,
        nullif(lower(trim(hardware_platform)), '') as hardware_platform,
        nullif(trim(hardware_name), '') as hardware_name,
        cast(batch_size as integer) as batch_size,
        nullif(lower(trim(precision)), '') as precision,
        nullif(lower(trim(mode)), '') as mode,
        cast(sequence_length as integer) as sequence_length,
        cast(image_size as integer) as image_size,
        error,
        nullif(trim(source), '') as source,

        -- timestamps
        cast(measured_at as timestamp) as measured_at

    from source

)

select * from final
