-- Every model figure, long: the model_specs seed plus the figures loads state
-- (raw.catalog_model_specs), one per model and spec. The seed's figure wins; a load's fills a gap
-- and keeps its source and load.
with

seed_spellings as (

    {{ catalog_spellings(ref('model_architectures'), ref('model_aliases'), 'model_name') }}

),

final as (

    {{ merged_catalog(
        ref('model_specs'), source('raw', 'catalog_model_specs'), 'seed_spellings', 'model_name',
        {'spec': 'lower(trim(spec))', 'value': 'cast(value as double)', 'source': 'source'},
        key=['spec'],
    ) }}

)

select * from final
