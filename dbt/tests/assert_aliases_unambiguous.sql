-- An alias that names two different devices or models is resolved to the first alphabetically;
-- warn so that the catalog can be fixed.
-- Dagster shows it as a check of the hardware alias seed (a test of two seeds names the one it belongs to).
{{ config(severity='warn', meta={'dagster': {'ref': {'name': 'hardware_aliases'}}}) }}

with

hardware_aliases as (

    select * from {{ ref('hardware_aliases') }}

),

model_aliases as (

    select * from {{ ref('model_aliases') }}

),

ambiguous as (

    select 'hardware_aliases' as seed, {{ name_key('alias') }} as name_key, count(distinct trim(hardware_name)) as targets
    from hardware_aliases
    group by 1, 2
    having count(distinct trim(hardware_name)) > 1

    union all

    select 'model_aliases' as seed, {{ name_key('alias') }} as name_key, count(distinct trim(model_name)) as targets
    from model_aliases
    group by 1, 2
    having count(distinct trim(model_name)) > 1

)

select * from ambiguous
