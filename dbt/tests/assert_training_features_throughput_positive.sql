-- Every training row must have a positive, finite throughput: log targets depend on it.
select
    load_id,
    source_row,
    throughput
from {{ ref('training_features') }}
where throughput is null
    or throughput <= 0
    or not isfinite(throughput)
