-- One row per model: the model_architectures seed plus the models loads describe (raw.catalog_models;
-- a seed model keeps its seed row), with one column per spec of stg_catalog__model_specs.
with

seed_spellings as (

    {{ catalog_spellings(ref('model_architectures'), ref('model_aliases'), 'model_name') }}

),

architectures as (

    {{ merged_catalog(
        ref('model_architectures'), source('raw', 'catalog_models'), 'seed_spellings', 'model_name',
        {
            'model_family': 'lower(trim(model_family))',
            'model_type': 'lower(trim(model_type))',
            'modality': 'lower(trim(modality))',
            'source': 'source',
        },
    ) }}

),

specs_pivoted as (

    select
        model_name,
        {{ pivot_specs(var('model_spec_names')) }}
    from {{ ref('stg_catalog__model_specs') }}
    group by model_name

),

final as (

    select
        -- ids
        architectures.model_name,

        -- dimensions
        architectures.model_family,
        architectures.model_type,
        architectures.modality,
        architectures.source,
        architectures.load_id as catalog_load_id,

        -- specs
        {{ spec_columns('specs_pivoted', var('model_spec_names')) }}

    from architectures
    left join specs_pivoted
        on architectures.model_name = specs_pivoted.model_name

)

select * from final
