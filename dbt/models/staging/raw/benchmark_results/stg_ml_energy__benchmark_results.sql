-- ML.ENERGY leaderboards (v3, v2, the 2023 legacy one; the source column tells them apart): power
-- is read from NVML and summed over the GPUs, so it covers the accelerators only.
{{ stage_benchmark_results('ml_energy', {
    'power_scope': "coalesce(power_scope, case when power_w is not null then 'accelerators' end)",
}) }}
