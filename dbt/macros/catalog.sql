{#- The catalogs are the seeds plus the facts loads bring (raw.catalog_*). Both the catalog staging
    models and the alias models resolve a spelling the same way, so it is written once here. -#}

{% macro catalog_spellings(catalog, aliases, name_column) -%}
    {#- Every accepted spelling of a catalog entry keyed by name_key: its canonical name and each alias
        in the aliases seed that points at it. A canonical name wins over an alias with the same key;
        among equals the alphabetically first entry. -#}
with

spellings as (

    select
        {{ name_key(name_column) }} as name_key,
        {{ name_column }},
        1 as priority
    from {{ catalog }}

    union all

    select
        {{ name_key('aliases.alias') }} as name_key,
        catalog.{{ name_column }},
        2 as priority
    from {{ aliases }} as aliases
    inner join {{ catalog }} as catalog
        on trim(aliases.{{ name_column }}) = catalog.{{ name_column }}

)

select
    name_key,
    {{ name_column }}
from spellings
where name_key is not null and name_key <> ''
qualify row_number() over (partition by name_key order by priority, {{ name_column }}) = 1
{%- endmacro %}


{% macro merged_catalog(seed, loaded, spellings, name_column, columns, key=[]) -%}
    {#- A seed and the rows loads brought in its layout, one row per entry (and key): the seed's where it
        has one, else the newest load's (load ids sort by time). Loaded names resolve through the
        spellings relation (name_key, name_column); a name it does not know is an entry of its own.
        columns: output name -> SQL over the unqualified columns both tables share. -#}
with

entries as (

    select
        trim({{ name_column }}) as {{ name_column }},
        {%- for column, expression in columns.items() %}
        {{ expression }} as {{ column }},
        {%- endfor %}
        cast(null as varchar) as load_id,
        1 as priority
    from {{ seed }}

    union all

    select
        coalesce({{ spellings }}.{{ name_column }}, trim(loaded.{{ name_column }})) as {{ name_column }},
        {%- for column, expression in columns.items() %}
        {{ expression }} as {{ column }},
        {%- endfor %}
        loaded.load_id,
        2 as priority
    from {{ loaded }} as loaded
    left join {{ spellings }}
        on {{ name_key('loaded.' ~ name_column) }} = {{ spellings }}.name_key

)

select * exclude (priority)
from entries
qualify row_number() over (
    partition by {{ ([name_column] + key) | join(', ') }}
    order by priority, load_id desc
) = 1
{%- endmacro %}


{% macro spec_columns(relation, spec_names) -%}
    {#- The pivoted specs of a catalog, counts (var integer_spec_names) cast to integer. -#}
    {%- for spec in spec_names %}
    {%- if spec in var('integer_spec_names') %}
    cast({{ relation }}.{{ spec }} as integer) as {{ spec }}{{ "," if not loop.last }}
    {%- else %}
    {{ relation }}.{{ spec }}{{ "," if not loop.last }}
    {%- endif %}
    {%- endfor %}
{%- endmacro %}
