-- The physical-plausibility gate: a row that claims more than its device can do is a wrong number,
-- not a fast device. It stays in fct_benchmark_results with is_implausible and the reason (naming
-- the bound and the figures) and is left out of training_features. Three bounds on the row alone,
-- each loosened by var plausibility_margin because flops_per_item and the weights are per-model
-- approximations:
--   compute: throughput <= compute roof at the most generous rate the device has at the row's
--            precision (fp32 may run on TF32 tensor cores; fp8 / fp4 fall back to the wider formats
--            a device without them computes in) x margin;
--   memory:  peak memory per device <= device memory x (1 + var plausibility_memory_margin);
--   token:   a per-token latency >= the time to read the active weights once at the devices' full
--            bandwidth / margin;
-- and one against the row's single-device twin:
--   scaling: a data-parallel static batch runs the same per-device batch on every device, so n
--            devices do at most n times what one device does in the same configuration (the median
--            of its single-device rows, var plausibility_scaling_group_by) x var
--            plausibility_scaling_margin.
-- A bound whose figures are missing (no spec, no batch) is not checked: such rows are not flagged.
with

roofline as (

    select * from {{ ref('int_benchmark_results_roofline') }}

),

rates as (

    select
        *,
        case
            when precision = 'fp64' then coalesce(peak_fp64_tflops, peak_fp32_tflops)
            when precision = 'fp32' then greatest(peak_fp32_tflops, peak_tf32_tflops)
            when precision = 'fp16' then greatest(peak_fp16_tflops, peak_fp32_tflops)
            when precision in ('amp', 'bf16') then greatest(peak_bf16_tflops, peak_fp16_tflops, peak_fp32_tflops)
            when precision = 'fp8' then greatest(peak_fp8_tflops, peak_bf16_tflops, peak_fp16_tflops, peak_fp32_tflops)
            when precision = 'fp4'
                then greatest(peak_fp4_tflops, peak_fp8_tflops, peak_bf16_tflops, peak_fp16_tflops, peak_fp32_tflops)
            when precision in ('int8', 'int4') then greatest(peak_int8_tops, peak_fp16_tflops, peak_fp32_tflops)
        end as gate_peak_tflops,
        case when workload = '{{ var("default_workload") }}' and num_devices > 1 and coalesce(parallelism, 'data') = 'data'
            then median(case when num_devices = 1 then throughput end)
                over (partition by {{ var('plausibility_scaling_group_by') | join(', ') }})
        end as single_device_throughput
    from roofline

),

bounds as (

    select
        *,
        gate_peak_tflops * 1e12 * num_devices / flops_per_item
            * {{ var('plausibility_margin') }} as throughput_upper_bound,
        memory_gb * 1024.0 * (1.0 + {{ var('plausibility_memory_margin') }}) as memory_upper_bound_mb,
        case
            when latency_kind = 'token'
                then active_parameters_million_or_all * 1e6 * precision_bytes
                    / (memory_bandwidth_gbs * 1e9 * num_devices) * 1000.0 / {{ var('plausibility_margin') }}
        end as latency_lower_bound_ms,
        single_device_throughput * num_devices * {{ var('plausibility_scaling_margin') }} as scaling_upper_bound
    from rates

),

checked as (

    select
        *,
        concat_ws('; ',
            case when throughput > throughput_upper_bound then format(
                'throughput {:.4g} items/s above {}x the compute roof: {:.4g} TFLOPS x {} devices / {:.4g} FLOPs per item',
                throughput, {{ var('plausibility_margin') }}, gate_peak_tflops, num_devices, flops_per_item
            ) end,
            case when memory_mb > memory_upper_bound_mb then format(
                'memory {:.4g} MB above the device memory {:.4g} GB (+{:.0f} %)',
                memory_mb, memory_gb, 100 * {{ var('plausibility_memory_margin') }}
            ) end,
            case when latency_ms < latency_lower_bound_ms then format(
                'per-token latency {:.4g} ms below 1/{} of reading {:.4g} M active parameters at {} bytes'
                || ' over {:.4g} GB/s x {} devices',
                latency_ms, {{ var('plausibility_margin') }}, active_parameters_million_or_all, precision_bytes,
                memory_bandwidth_gbs, num_devices
            ) end,
            case when throughput > scaling_upper_bound then format(
                'throughput {:.4g} items/s on {} devices above {}x the linear scaling of one device''s {:.4g} items/s',
                throughput, num_devices, {{ var('plausibility_scaling_margin') }}, single_device_throughput
            ) end
        ) as reasons
    from bounds

),

final as (

    select
        * exclude (reasons),
        nullif(reasons, '') as implausible_reason,
        reasons <> '' as is_implausible,
        -- what training_features keeps (and the dims and coverage_gaps count as training rows)
        not is_outlier and reasons = '' and has_roofline as is_training_row
    from checked

)

select * from final
