with

models as (

    select * from {{ ref('stg_catalog__models') }}

),

results as (

    select * from {{ ref('int_benchmark_results_flagged') }}

),

measurements as (

    select
        model_name,
        count(*) as measured_rows,
        count(*) filter (where not is_outlier) as training_rows,
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

        -- specs
        models.parameters_million,
        models.num_layers,
        models.hidden_size,
        models.num_heads,
        models.gflops_per_item,
        models.reference_sequence_length,
        models.reference_image_size,

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
