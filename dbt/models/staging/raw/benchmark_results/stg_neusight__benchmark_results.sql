-- NeuSight: end-to-end latency of one batch, eager PyTorch unless the file is a "-fusion" variant,
-- which the importer marks as compiled.
{{ stage_benchmark_results('neusight', {'compiled': 'coalesce(compiled, false)'}) }}
