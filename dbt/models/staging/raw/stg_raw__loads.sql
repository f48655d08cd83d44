with

source as (

    select * from {{ source('raw', 'loads') }}

),

final as (

    select
        -- ids
        load_id,

        -- dimensions
        trim(source) as source,
        path,
        lower(trim(format)) as format,
        content_sha256,

        -- measures
        rows_accepted,
        rows_rejected,
        rows_skipped,

        -- timestamps
        loaded_at

    from source

)

select * from final
