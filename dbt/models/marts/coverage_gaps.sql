-- The test grid: model x device x precision x batch size x mode (vars coverage_*), with how often
-- each single-device static-batch cell was measured and how often it failed. Var coverage_pairs says
-- which model x device pairs it spans: both_measured (the default: a model with training rows on some
-- device, on a device with training rows of some model: predictions rest on measurements on both sides),
-- either_measured, or all (every catalog pair).
with

results as (

    select * from {{ ref('fct_benchmark_results') }}

),

failures as (

    select * from {{ ref('int_failed_benchmarks_normalized') }}

),

models as (

    select * from {{ ref('dim_models') }}

),

hardware as (

    select * from {{ ref('dim_hardware') }}

),

precisions as (

    {% for precision in var('coverage_precisions') -%}
    select '{{ precision }}' as precision{{ "\n    union all\n    " if not loop.last }}
    {%- endfor %}

),

batch_sizes as (

    {% for batch_size in var('coverage_batch_sizes') -%}
    select {{ batch_size }} as batch_size{{ "\n    union all\n    " if not loop.last }}
    {%- endfor %}

),

modes as (

    {% for mode in var('coverage_modes') -%}
    select '{{ mode }}' as mode{{ "\n    union all\n    " if not loop.last }}
    {%- endfor %}

),

pairs as (

    select
        models.model_name,
        hardware.hardware_name,
        hardware.hardware_platform
    from models
    cross join hardware
    {%- if var('coverage_pairs') == 'both_measured' %}
    -- measurements that train the models: a device whose rows all lack a roofline (no published
    -- rate at their precision) cannot be predicted from them
    where models.training_rows > 0 and hardware.training_rows > 0
    {%- elif var('coverage_pairs') == 'either_measured' %}
    where models.is_measured or hardware.is_measured
    {%- endif %}

),

grid as (

    select
        pairs.model_name,
        pairs.hardware_name,
        pairs.hardware_platform,
        precisions.precision,
        batch_sizes.batch_size,
        modes.mode
    from pairs
    cross join precisions
    cross join batch_sizes
    cross join modes

),

measured as (

    select
        model_name,
        hardware_name,
        precision,
        batch_size,
        mode,
        count(*) as measured_rows,
        count(*) filter (where is_training_row) as training_rows,
        max(coalesce(measured_at, loaded_at)) as last_measured_at
    from results
    -- a cell is a static batch on one device; serving caps and system-chosen batches are other things
    where num_devices = 1 and workload = '{{ var("default_workload") }}'
    group by model_name, hardware_name, precision, batch_size, mode

),

failed as (

    select
        model_name,
        hardware_name,
        precision,
        batch_size,
        mode,
        count(*) as failed_attempts
    from failures
    where is_known_model and is_known_hardware
    group by model_name, hardware_name, precision, batch_size, mode

),

final as (

    select
        -- ids
        grid.model_name,
        grid.hardware_name,
        grid.precision,
        grid.batch_size,
        grid.mode,

        -- dimensions
        grid.hardware_platform,

        -- measures
        coalesce(measured.measured_rows, 0) as measured_rows,
        coalesce(measured.training_rows, 0) as training_rows,
        coalesce(failed.failed_attempts, 0) as failed_attempts,
        coalesce(measured.measured_rows, 0) > 0 as is_tested,

        -- timestamps
        measured.last_measured_at

    from grid
    left join measured
        on grid.model_name = measured.model_name
        and grid.hardware_name = measured.hardware_name
        and grid.precision = measured.precision
        and grid.batch_size = measured.batch_size
        and grid.mode = measured.mode
    left join failed
        on grid.model_name = failed.model_name
        and grid.hardware_name = failed.hardware_name
        and grid.precision = failed.precision
        and grid.batch_size = failed.batch_size
        and grid.mode = failed.mode

)

select * from final
