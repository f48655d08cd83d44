with

architectures as (

    select * from {{ ref('model_architectures') }}

),

specs as (

    select
        trim(model_name) as model_name,
        lower(trim(spec)) as spec,
        cast(value as double) as value
    from {{ ref('model_specs') }}

),

specs_pivoted as (

    select
        model_name,
        {{ pivot_specs(var('model_spec_names')) }}
    from specs
    group by model_name

),

final as (

    select
        -- ids
        trim(architectures.model_name) as model_name,

        -- dimensions
        lower(trim(architectures.model_family)) as model_family,
        lower(trim(architectures.model_type)) as model_type,
        lower(trim(architectures.modality)) as modality,
        architectures.source,

        -- specs
        specs_pivoted.parameters_million,
        cast(specs_pivoted.num_layers as integer) as num_layers,
        cast(specs_pivoted.hidden_size as integer) as hidden_size,
        cast(specs_pivoted.num_heads as integer) as num_heads,
        specs_pivoted.gflops_per_item,
        cast(specs_pivoted.reference_sequence_length as integer) as reference_sequence_length,
        cast(specs_pivoted.reference_image_size as integer) as reference_image_size

    from architectures
    left join specs_pivoted
        on trim(architectures.model_name) = specs_pivoted.model_name

)

select * from final
