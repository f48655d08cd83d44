-- Failed attempts with catalog names and canonical categories, so coverage_gaps can count them
-- against the same cells as the measurements.
with

failures as (

    select * from {{ ref('stg_raw__failed_benchmarks') }}

),

hardware_spellings as (

    select * from {{ ref('int_hardware_aliases_resolved') }}

),

model_spellings as (

    select * from {{ ref('int_model_aliases_resolved') }}

),

final as (

    select
        -- ids
        failures.load_id,

        -- dimensions
        coalesce(model_spellings.model_name, failures.model_name) as model_name,
        {{ canonical_platform('failures.hardware_platform') }} as hardware_platform,
        coalesce(hardware_spellings.hardware_name, failures.hardware_name) as hardware_name,
        failures.batch_size,
        {{ canonical_precision('failures.precision') }} as precision,
        {{ canonical_mode('failures.mode') }} as mode,
        failures.sequence_length,
        failures.image_size,
        failures.error,
        failures.source,
        model_spellings.model_name is not null as is_known_model,
        hardware_spellings.hardware_name is not null as is_known_hardware,

        -- timestamps
        failures.measured_at

    from failures
    left join hardware_spellings
        on {{ name_key('failures.hardware_name') }} = hardware_spellings.name_key
    left join model_spellings
        on {{ name_key('failures.model_name') }} = model_spellings.name_key

)

select * from final
