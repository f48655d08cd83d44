-- One row per training row of fct_benchmark_results (valid, plausible, not an outlier, with a roofline): the dimensions and semantics, the catalog
-- features of its model and device, the roofline of int_benchmark_results_roofline (carried by
-- fct_benchmark_results) and the four targets. A row carries the metrics it measured: a per-token
-- latency or an MLPerf Offline throughput comes without the other one.
{%- set new_model_specs = ['active_parameters_million', 'intermediate_size', 'num_kv_heads', 'vocab_size', 'max_sequence_length'] %}
{#- dim_hardware's peak fp16 / bf16 / int8 rates stay out: modeling/training.py joins them itself -#}
{%- set new_hardware_specs = ['peak_fp64_tflops', 'peak_tf32_tflops', 'peak_fp8_tflops', 'peak_fp4_tflops', 'idle_power_w',
                              'cores_per_compute_unit', 'clock_mhz', 'l2_cache_mb'] %}
with

results as (

    select * from {{ ref('fct_benchmark_results') }}
    where is_training_row

),

models as (

    select * from {{ ref('dim_models') }}

),

hardware as (

    select * from {{ ref('dim_hardware') }}

),

final as (

    select
        -- ids
        results.load_id,
        results.source_row,

        -- dimensions
        results.model_name,
        results.model_family,
        results.model_type,
        results.modality,
        results.hardware_name,
        results.hardware_platform,
        hardware.vendor,
        hardware.device_class,
        hardware.architecture,
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
        results.source,

        -- model features
        models.parameters_million,
        models.num_layers,
        models.hidden_size,
        models.num_heads,
        {%- for spec in new_model_specs %}
        models.{{ spec }},
        {%- endfor %}

        -- hardware features
        hardware.memory_gb,
        hardware.memory_bandwidth_gbs,
        hardware.peak_fp32_tflops,
        hardware.tdp_w,
        hardware.release_year,
        hardware.compute_units,
        {%- for spec in new_hardware_specs %}
        hardware.{{ spec }},
        {%- endfor %}

        -- workload features
        results.input_scale,
        results.precision_bytes,
        results.flops_per_item,
        results.bytes_per_item,
        results.flops_per_item / results.bytes_per_item as arithmetic_intensity,
        results.peak_tflops_at_precision,
        results.compute_roof_throughput,
        results.memory_roof_throughput,
        -- least() skips a null, so without a batch size (no memory roof) the compute roof is the bound
        least(results.compute_roof_throughput, results.memory_roof_throughput) as roofline_throughput,
        results.compute_roof_throughput <= results.memory_roof_throughput as compute_bound,
        models.parameters_million * 1e6 * results.precision_bytes / 1048576.0 as model_memory_mb,
        ln(results.batch_size) as log_batch_size,
        ln(least(results.compute_roof_throughput, results.memory_roof_throughput)) as log_roofline_throughput,

        -- plausibility bounds the row passed
        results.throughput_upper_bound,
        results.memory_upper_bound_mb,

        -- targets and what they mean
        results.throughput,
        results.latency_ms,
        results.latency_kind,
        results.memory_mb,
        results.power_w,
        results.power_scope,
        results.power_derived,
        results.energy_per_item_j,
        results.latency_p99_ms,
        results.memory_mb / results.batch_size as memory_per_sample_mb,
        ln(results.throughput) as log_throughput,
        ln(results.latency_ms) as log_latency_ms,
        ln(results.memory_mb) as log_memory_mb,
        ln(results.power_w) as log_power_w,
        results.throughput_imputed,
        results.latency_imputed,

        -- timestamps
        results.measured_at,
        results.loaded_at

    from results
    left join models
        on results.model_name = models.model_name
    left join hardware
        on results.hardware_name = hardware.hardware_name

)

select * from final
