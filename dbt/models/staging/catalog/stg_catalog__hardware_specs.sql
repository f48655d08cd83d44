-- Every device figure, long: the hardware_specs seed plus the figures loads state
-- (raw.catalog_hardware_specs), one per device and spec. The seed's figure wins; a load's fills a
-- gap and keeps its source and load.
with

seed_spellings as (

    {{ catalog_spellings(ref('hardware_devices'), ref('hardware_aliases'), 'hardware_name') }}

),

final as (

    {{ merged_catalog(
        ref('hardware_specs'), source('raw', 'catalog_hardware_specs'), 'seed_spellings', 'hardware_name',
        {'spec': 'lower(trim(spec))', 'value': 'cast(value as double)', 'source': 'source'},
        key=['spec'],
    ) }}

)

select * from final
