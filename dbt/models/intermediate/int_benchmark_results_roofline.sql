-- Every flagged row with a deliberately simple roofline from the catalogs: the work and traffic of
-- one item, the device's peak rate at the row's precision, and the compute and memory roofs. They
-- are features for the learners (training_features) and the bounds of the plausibility gate.
-- An item is what the row's throughput counts: a generated token for text generation under a
-- serving or MLPerf workload (one decode step: 2 FLOPs per active parameter, the weights read once
-- per step for the whole batch), else one input at the model's reference size scaled to the row's.
with

results as (

    select * from {{ ref('int_benchmark_results_flagged') }}

),

models as (

    select * from {{ ref('stg_catalog__models') }}

),

hardware as (

    select * from {{ ref('stg_catalog__hardware') }}

),

joined as (

    select
        results.*,
        {%- for spec in var('model_spec_names') %}
        models.{{ spec }},
        {%- endfor %}
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
        -- work grows linearly with sequence length and with image area (1 when either is unknown),
        -- and for diffusion with the frames of a video and the denoising steps
        case
            when sequence_length is not null and reference_sequence_length > 0
                then cast(sequence_length as double) / reference_sequence_length
            when image_size is not null and reference_image_size > 0
                then power(cast(image_size as double) / reference_image_size, 2)
            else 1.0
        end
        * coalesce(cast(num_frames as double) / nullif(reference_num_frames, 0), 1.0)
        * coalesce(cast(denoising_steps as double) / nullif(reference_denoising_steps, 0), 1.0) as input_scale,
        -- a training step is forward + backward, about three forward passes of work and traffic
        case when mode = 'training' then 3.0 else 1.0 end as mode_factor,
        {{ precision_bytes('precision') }} as precision_bytes,
        -- mixture-of-experts models run only their active experts per token
        coalesce(active_parameters_million, parameters_million) as active_parameters_million_or_all,
        mode = 'inference'
            and workload <> '{{ var("default_workload") }}'
            and model_type in ('{{ var("token_item_model_types") | join("', '") }}') as item_is_token,
        -- the fastest published rate the row's precision can use (a feature; the gate's own,
        -- more generous rate is in int_benchmark_results_plausibility)
        case
            when precision = 'fp64' then coalesce(peak_fp64_tflops, peak_fp32_tflops)
            when precision = 'fp32' then peak_fp32_tflops
            when precision in ('fp16', 'amp') then coalesce(peak_fp16_tflops, peak_fp32_tflops)
            when precision = 'bf16' then coalesce(peak_bf16_tflops, peak_fp16_tflops, peak_fp32_tflops)
            when precision = 'fp8' then coalesce(peak_fp8_tflops, peak_fp16_tflops, peak_fp32_tflops)
            when precision = 'fp4' then coalesce(peak_fp4_tflops, peak_fp8_tflops, peak_fp16_tflops, peak_fp32_tflops)
            when precision in ('int8', 'int4') then coalesce(peak_int8_tops, peak_fp16_tflops, peak_fp32_tflops)
        end as peak_tflops_at_precision
    from joined

),

workload as (

    select
        *,
        case
            when item_is_token then 2.0 * active_parameters_million_or_all * 1e6
            else gflops_per_item * 1e9 * input_scale * mode_factor
        end as flops_per_item,
        -- weights are streamed once per (per-device) batch; activations once per item, estimated
        -- as 2 * hidden * tokens * layers values when the model is a transformer with known width;
        -- unknown when the system chose the batch (MLPerf Offline / Server)
        case
            when item_is_token then active_parameters_million_or_all * 1e6 * precision_bytes / batch_size
            else mode_factor * (
                parameters_million * 1e6 * precision_bytes / batch_size
                + coalesce(
                    2.0 * hidden_size * coalesce(sequence_length, reference_sequence_length) * num_layers * precision_bytes,
                    0.0
                )
            )
        end as bytes_per_item
    from scaled

),

final as (

    select
        *,
        peak_tflops_at_precision * 1e12 * num_devices / flops_per_item as compute_roof_throughput,
        memory_bandwidth_gbs * 1e9 * num_devices / bytes_per_item as memory_roof_throughput,
        -- the figures a learner cannot do without; a model or device only a load describes may lack them
        coalesce(
            flops_per_item > 0 and peak_tflops_at_precision > 0 and parameters_million > 0
            and memory_gb > 0 and memory_bandwidth_gbs > 0,
            false
        ) as has_roofline
    from workload

)

select * from final
