-- One row per valid, non-outlier measurement: the dimensions, the catalog features of its model and
-- device, workload features derived from both (a simple roofline) and the four targets.
with

results as (

    select * from {{ ref('fct_benchmark_results') }}
    where not is_outlier

),

models as (

    select * from {{ ref('dim_models') }}

),

hardware as (

    select * from {{ ref('dim_hardware') }}

),

joined as (

    select
        results.*,
        models.parameters_million,
        models.num_layers,
        models.hidden_size,
        models.num_heads,
        models.gflops_per_item,
        models.reference_sequence_length,
        models.reference_image_size,
        hardware.vendor,
        hardware.device_class,
        hardware.architecture,
        hardware.release_year,
        {%- for spec in var('hardware_spec_names') %}
        hardware.{{ spec }}{{ "," if not loop.last }}
        {%- endfor %}
    from results
    left join models
        on results.model_name = models.model_name
    left join hardware
        on results.hardware_name = hardware.hardware_name

),

scaled as (

    select
        *,
        -- work grows linearly with sequence length and with image area (1 when either is unknown)
        case
            when sequence_length is not null and reference_sequence_length > 0
                then cast(sequence_length as double) / reference_sequence_length
            when image_size is not null and reference_image_size > 0
                then power(cast(image_size as double) / reference_image_size, 2)
            else 1.0
        end as input_scale,
        -- a training step is forward + backward, about three forward passes of work and traffic
        case when mode = 'training' then 3.0 else 1.0 end as mode_factor,
        {{ precision_bytes('precision') }} as precision_bytes,
        -- the fastest published rate the row's precision can use
        case
            when precision = 'fp32' then peak_fp32_tflops
            when precision in ('fp16', 'amp') then coalesce(peak_fp16_tflops, peak_fp32_tflops)
            when precision = 'bf16' then coalesce(peak_bf16_tflops, peak_fp16_tflops, peak_fp32_tflops)
            when precision in ('int8', 'int4') then coalesce(peak_int8_tops, peak_fp16_tflops, peak_fp32_tflops)
        end as peak_tflops_at_precision
    from joined

),

workload as (

    select
        *,
        gflops_per_item * 1e9 * input_scale * mode_factor as flops_per_item,
        -- weights are streamed once per (per-device) batch; activations once per item, estimated
        -- as 2 * hidden * tokens * layers values when the model is a transformer with known width
        mode_factor * (
            parameters_million * 1e6 * precision_bytes / batch_size
            + coalesce(
                2.0 * hidden_size * coalesce(sequence_length, reference_sequence_length) * num_layers * precision_bytes,
                0.0
            )
        ) as bytes_per_item
    from scaled

),

roofline as (

    select
        *,
        peak_tflops_at_precision * 1e12 * num_devices / flops_per_item as compute_roof_throughput,
        memory_bandwidth_gbs * 1e9 * num_devices / bytes_per_item as memory_roof_throughput
    from workload

),

final as (

    select
        -- ids
        load_id,
        source_row,

        -- dimensions
        model_name,
        model_family,
        model_type,
        modality,
        hardware_name,
        hardware_platform,
        vendor,
        device_class,
        architecture,
        num_devices,
        batch_size,
        precision,
        mode,
        sequence_length,
        image_size,
        source,

        -- model features
        parameters_million,
        num_layers,
        hidden_size,
        num_heads,

        -- hardware features
        memory_gb,
        memory_bandwidth_gbs,
        peak_fp32_tflops,
        tdp_w,
        release_year,
        compute_units,

        -- workload features
        input_scale,
        precision_bytes,
        flops_per_item,
        bytes_per_item,
        flops_per_item / bytes_per_item as arithmetic_intensity,
        peak_tflops_at_precision,
        compute_roof_throughput,
        memory_roof_throughput,
        least(compute_roof_throughput, memory_roof_throughput) as roofline_throughput,
        compute_roof_throughput <= memory_roof_throughput as compute_bound,
        parameters_million * 1e6 * precision_bytes / 1048576.0 as model_memory_mb,
        ln(batch_size) as log_batch_size,
        ln(least(compute_roof_throughput, memory_roof_throughput)) as log_roofline_throughput,

        -- targets
        throughput,
        latency_ms,
        memory_mb,
        power_w,
        memory_mb / batch_size as memory_per_sample_mb,
        ln(throughput) as log_throughput,
        ln(latency_ms) as log_latency_ms,
        ln(memory_mb) as log_memory_mb,
        ln(power_w) as log_power_w,
        throughput_imputed,
        latency_imputed,

        -- timestamps
        measured_at,
        loaded_at

    from roofline

)

select * from final
