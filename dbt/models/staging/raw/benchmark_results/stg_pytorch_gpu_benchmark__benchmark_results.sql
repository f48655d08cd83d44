-- pytorch-gpu-benchmark: eager torchvision models, split over several GPUs with nn.DataParallel.
{{ stage_benchmark_results('pytorch_gpu_benchmark', {
    'compiled': 'coalesce(compiled, false)',
    'parallelism': "coalesce(parallelism, case when num_devices > 1 then 'data' end)",
}) }}
