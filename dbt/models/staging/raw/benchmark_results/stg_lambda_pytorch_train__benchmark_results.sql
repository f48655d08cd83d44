-- Lambda's PyTorch training throughput per system (whole-system items/s); nothing to default:
-- every row is a static batch with throughput only.
{{ stage_benchmark_results('lambda_pytorch_train') }}
