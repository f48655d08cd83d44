{#- raw.benchmark_results holds every source in one append-only table; each source has a staging
    model (var benchmark_sources) built by stage_benchmark_results, so all of them clean and type
    the columns the same way and differ only in the source-specific defaults they state. -#}

{% macro benchmark_result_columns() -%}
    {#- Every column of raw.benchmark_results with its cleaning: names keep their spelling (the alias
        seeds resolve them downstream), categories are lower-cased so the spelling maps can match. -#}
    {%- do return({
        'load_id': 'load_id',
        'source_row': 'cast(source_row as integer)',
        'source_file': 'source_file',
        'source_location': 'source_location',
        'model_name': "nullif(trim(model_name), '')",
        'model_family': "nullif(lower(trim(model_family)), '')",
        'model_type': "nullif(lower(trim(model_type)), '')",
        'hardware_platform': "nullif(lower(trim(hardware_platform)), '')",
        'hardware_name': "nullif(trim(hardware_name), '')",
        'system_name': "nullif(trim(system_name), '')",
        'num_devices': 'cast(num_devices as integer)',
        'batch_size': 'cast(batch_size as integer)',
        'precision': "nullif(lower(trim(precision)), '')",
        'mode': "nullif(lower(trim(mode)), '')",
        'workload': "nullif(lower(trim(workload)), '')",
        'task': "nullif(trim(task), '')",
        'sequence_length': 'cast(sequence_length as integer)',
        'image_size': 'cast(image_size as integer)',
        'num_frames': 'cast(num_frames as integer)',
        'denoising_steps': 'cast(denoising_steps as integer)',
        'parallelism': "nullif(lower(trim(parallelism)), '')",
        'compiled': 'cast(compiled as boolean)',
        'framework': "nullif(trim(framework), '')",
        'source': "nullif(trim(source), '')",
        'hardware_description': "nullif(trim(hardware_description), '')",
        'throughput': 'cast(throughput as double)',
        'latency_ms': 'cast(latency_ms as double)',
        'latency_kind': "nullif(lower(trim(latency_kind)), '')",
        'memory_mb': 'cast(memory_mb as double)',
        'power_w': 'cast(power_w as double)',
        'power_scope': "nullif(lower(trim(power_scope)), '')",
        'power_derived': 'cast(power_derived as boolean)',
        'energy_per_item_j': 'cast(energy_per_item_j as double)',
        'latency_p50_ms': 'cast(latency_p50_ms as double)',
        'latency_p90_ms': 'cast(latency_p90_ms as double)',
        'latency_p99_ms': 'cast(latency_p99_ms as double)',
        'throughput_cv': 'cast(throughput_cv as double)',
        'repeats': 'cast(repeats as integer)',
        'measured_at': 'cast(measured_at as timestamp)',
    }) -%}
{%- endmacro %}


{% macro benchmark_source_filter(name) -%}
    {#- The rows of one source of var benchmark_sources; with name none, the rows of every other source. -#}
    {%- set sources = var('benchmark_sources') -%}
    {%- set patterns = sources[name] if name else sources.values() | sum(start=[]) -%}
    {%- set matched -%}
        ({%- for pattern in patterns -%}trim(source) like '{{ pattern }}'{{ " or " if not loop.last }}{%- endfor -%})
    {%- endset -%}
    {{ matched if name else "not coalesce(" ~ matched ~ ", false)" }}
{%- endmacro %}


{% macro stage_benchmark_results(name=none, defaults={}) -%}
    {#- The staging model of one source: its rows, cleaned and typed, with the source's documented
        defaults (column -> SQL over the cleaned columns) replacing the columns they name. -#}
with

source as (

    select * from {{ source('raw', 'benchmark_results') }}
    where {{ benchmark_source_filter(name) }}

),

cleaned as (

    select
        {%- for column, expression in benchmark_result_columns().items() %}
        {{ expression }} as {{ column }}{{ "," if not loop.last }}
        {%- endfor %}
    from source

),

final as (

    select *
        {%- if defaults %} replace (
        {%- for column, expression in defaults.items() %}
            {{ expression }} as {{ column }}{{ "," if not loop.last }}
        {%- endfor %}
        )
        {%- endif %}
    from cleaned

)

select * from final
{%- endmacro %}
