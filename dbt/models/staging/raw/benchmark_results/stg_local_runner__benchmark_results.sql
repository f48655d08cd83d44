-- This project's own runner (predictive_performance/benchmark): canonical rows with every column set.
{{ stage_benchmark_results('local_runner') }}
