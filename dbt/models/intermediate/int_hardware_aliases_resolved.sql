-- Every accepted spelling of a catalog hardware, keyed by name_key: the canonical
-- name itself and each alias. A canonical name wins over an alias with the same key.
with

catalog as (

    select * from {{ ref('stg_catalog__hardware') }}

),

aliases as (

    select * from {{ ref('hardware_aliases') }}

),

spellings as (

    select
        {{ name_key('hardware_name') }} as name_key,
        hardware_name,
        1 as priority
    from catalog

    union all

    select
        {{ name_key('aliases.alias') }} as name_key,
        catalog.hardware_name,
        2 as priority
    from aliases
    inner join catalog
        on trim(aliases.hardware_name) = catalog.hardware_name

),

final as (

    select
        name_key,
        hardware_name
    from spellings
    where name_key is not null and name_key <> ''
    qualify row_number() over (partition by name_key order by priority, hardware_name) = 1

)

select * from final
