-- MLPerf Inference: Power_Result is the whole system at the wall; the scenario is the workload and
-- Offline / Server rows leave batch_size empty (the system chose it).
{{ stage_benchmark_results('mlperf_inference', {
    'power_scope': "coalesce(power_scope, case when power_w is not null then 'system' end)",
}) }}
