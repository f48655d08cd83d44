-- Every source without a staging model of its own: canonical files (source import:<file>, or the
-- source the file names) and rows other tools wrote.
{{ stage_benchmark_results() }}
