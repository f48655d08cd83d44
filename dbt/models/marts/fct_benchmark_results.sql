-- One row per valid raw row, after imputation, with the outlier flag, the roofline and the
-- plausibility gate (outliers and implausible rows are kept here, training_features drops them).
with

results as (

    select * from {{ ref('int_benchmark_results_plausibility') }}

),

loads as (

    select * from {{ ref('stg_raw__loads') }}

),

systems as (

    -- one row per system and load, whatever the source repeated
    select
        load_id,
        system_name,
        max(rated_power_w) as rated_power_w,
        max(list_price_usd) as list_price_usd
    from {{ ref('stg_raw__hardware_systems') }}
    group by load_id, system_name

),

final as (

    select
        -- ids
        results.load_id,
        results.source_row,

        -- dimensions
        results.model_name,
        results.model_name_raw,
        results.model_family,
        results.model_type,
        results.modality,
        results.hardware_name,
        results.hardware_name_raw,
        results.hardware_platform,
        results.system_name,
        results.num_devices,
        results.batch_size,
        results.precision,
        results.mode,
        results.workload,
        results.task,
        results.parallelism,
        results.compiled,
        results.sequence_length,
        results.image_size,
        results.num_frames,
        results.denoising_steps,
        results.framework,
        results.source,

        -- measures
        results.throughput,
        results.latency_ms,
        results.latency_kind,
        results.memory_mb,
        results.power_w,
        results.power_scope,
        results.power_derived,
        results.energy_per_item_j,
        results.throughput / results.num_devices as throughput_per_device,
        results.latency_p50_ms,
        results.latency_p90_ms,
        results.latency_p99_ms,
        results.throughput_cv,
        results.repeats,
        systems.rated_power_w as system_rated_power_w,
        systems.list_price_usd as system_list_price_usd,

        -- roofline (features and the plausibility bounds)
        results.input_scale,
        results.precision_bytes,
        results.flops_per_item,
        results.bytes_per_item,
        results.peak_tflops_at_precision,
        results.compute_roof_throughput,
        results.memory_roof_throughput,
        results.gate_peak_tflops,
        results.throughput_upper_bound,
        results.memory_upper_bound_mb,
        results.latency_lower_bound_ms,
        results.single_device_throughput,
        results.scaling_upper_bound,

        -- flags
        results.throughput_imputed,
        results.latency_imputed,
        results.outlier_group_rows,
        results.outlier_score,
        results.is_outlier,
        results.is_implausible,
        results.implausible_reason,
        results.has_roofline,
        results.is_training_row,

        -- timestamps
        results.measured_at,
        loads.loaded_at

    from results
    left join loads
        on results.load_id = loads.load_id
    left join systems
        on results.load_id = systems.load_id
        and results.system_name = systems.system_name

)

select * from final
