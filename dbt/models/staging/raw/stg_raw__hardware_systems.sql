with

source as (

    select * from {{ source('raw', 'hardware_systems') }}

),

final as (

    select
        -- ids
        load_id,
        trim(system_name) as system_name,

        -- dimensions
        trim(hardware_name) as hardware_name,
        cast(num_devices as integer) as num_devices,
        trim(source) as source,

        -- measures
        cast(rated_power_w as double) as rated_power_w,
        cast(list_price_usd as double) as list_price_usd

    from source

)

select * from final
