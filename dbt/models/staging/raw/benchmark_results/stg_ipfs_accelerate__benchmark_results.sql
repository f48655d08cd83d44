-- IPFS Accelerate benchmark databases: static-batch inference rows in the canonical columns.
{{ stage_benchmark_results('ipfs_accelerate') }}
