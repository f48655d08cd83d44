-- Every throughput a training row has must be positive and finite: log targets depend on it
-- (rows that measured only a latency have none).
select
    load_id,
    source_row,
    throughput
from {{ ref('training_features') }}
where throughput <= 0
    or not isfinite(throughput)
