with

models as (

    select * from {{ ref('stg_catalog__models') }}

),

results as (

    select * from {{ ref('int_benchmark_results_plausibility') }}

),

measurements as (

    select
        model_name,
        count(*) as measured_rows,
        count(*) filter (where is_training_row) as training_rows,
        count(distinct hardware_name) as measured_hardware,
        max(measured_at) as last_measured_at
    from results
    group by model_name

),

final as (

    select
        -- ids
        models.model_name,

        -- dimensions
        models.model_family,
        models.model_type,
        models.modality,
        models.source,

        models.catalog_load_id,

        -- specs
        {%- for spec in var('model_spec_names') %}
        models.{{ spec }},
        {%- endfor %}

        -- measurements
        coalesce(measurements.measured_rows, 0) as measured_rows,
        coalesce(measurements.training_rows, 0) as training_rows,
        coalesce(measurements.measured_hardware, 0) as measured_hardware,
        coalesce(measurements.measured_rows, 0) > 0 as is_measured,

        -- timestamps
        measurements.last_measured_at

    from models
    left join measurements
        on models.model_name = measurements.model_name

)

select * from final
