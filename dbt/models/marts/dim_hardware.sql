with

hardware as (

    select * from {{ ref('stg_catalog__hardware') }}

),

results as (

    select * from {{ ref('int_benchmark_results_plausibility') }}

),

measurements as (

    select
        hardware_name,
        count(*) as measured_rows,
        count(*) filter (where is_training_row) as training_rows,
        count(distinct model_name) as measured_models,
        max(measured_at) as last_measured_at
    from results
    group by hardware_name

),

final as (

    select
        -- ids
        hardware.hardware_name,

        -- dimensions
        hardware.vendor,
        hardware.hardware_platform,
        hardware.device_class,
        hardware.architecture,
        hardware.release_year,
        hardware.source,
        hardware.catalog_load_id,

        -- specs
        {%- for spec in var('hardware_spec_names') %}
        hardware.{{ spec }},
        {%- endfor %}

        -- measurements
        coalesce(measurements.measured_rows, 0) as measured_rows,
        coalesce(measurements.training_rows, 0) as training_rows,
        coalesce(measurements.measured_models, 0) as measured_models,
        coalesce(measurements.measured_rows, 0) > 0 as is_measured,

        -- timestamps
        measurements.last_measured_at

    from hardware
    left join measurements
        on hardware.hardware_name = measurements.hardware_name

)

select * from final
