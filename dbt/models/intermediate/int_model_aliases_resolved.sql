-- Every accepted spelling of a catalog model, keyed by name_key: the canonical
-- name itself and each alias. A canonical name wins over an alias with the same key.
with

catalog as (

    select * from {{ ref('stg_catalog__models') }}

),

aliases as (

    select * from {{ ref('model_aliases') }}

),

spellings as (

    select
        {{ name_key('model_name') }} as name_key,
        model_name,
        1 as priority
    from catalog

    union all

    select
        {{ name_key('aliases.alias') }} as name_key,
        catalog.model_name,
        2 as priority
    from aliases
    inner join catalog
        on trim(aliases.model_name) = catalog.model_name

),

final as (

    select
        name_key,
        model_name
    from spellings
    where name_key is not null and name_key <> ''
    qualify row_number() over (partition by name_key order by priority, model_name) = 1

)

select * from final
