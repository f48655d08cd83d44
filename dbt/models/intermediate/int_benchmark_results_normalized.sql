-- Every raw row with catalog names and canonical categories. Rows whose device or model is not
-- in the catalog keep their raw name and are marked, so validation can say why they are dropped.
-- The defaults every source shares: one device, a static batch, and a latency per batch.
with

results as (

    select * from {{ ref('int_benchmark_results_unioned') }}

),

hardware_spellings as (

    select * from {{ ref('int_hardware_aliases_resolved') }}

),

model_spellings as (

    select * from {{ ref('int_model_aliases_resolved') }}

),

models as (

    select * from {{ ref('stg_catalog__models') }}

),

resolved as (

    select
        results.*,
        hardware_spellings.hardware_name as catalog_hardware_name,
        model_spellings.model_name as catalog_model_name
    from results
    left join hardware_spellings
        on {{ name_key('results.hardware_name') }} = hardware_spellings.name_key
    left join model_spellings
        on {{ name_key('results.model_name') }} = model_spellings.name_key

),

final as (

    select
        -- ids
        resolved.load_id,
        resolved.source_row,

        -- dimensions
        coalesce(resolved.catalog_model_name, resolved.model_name) as model_name,
        resolved.model_name as model_name_raw,
        -- the catalog's family and type win for known models so one model has one family
        coalesce(models.model_family, resolved.model_family) as model_family,
        coalesce(models.model_type, resolved.model_type) as model_type,
        models.modality,
        {{ canonical_platform('resolved.hardware_platform') }} as hardware_platform,
        coalesce(resolved.catalog_hardware_name, resolved.hardware_name) as hardware_name,
        resolved.hardware_name as hardware_name_raw,
        resolved.system_name,
        coalesce(resolved.num_devices, 1) as num_devices,
        resolved.batch_size,
        {{ canonical_precision('resolved.precision') }} as precision,
        {{ canonical_mode('resolved.mode') }} as mode,
        coalesce(resolved.workload, '{{ var("default_workload") }}') as workload,
        resolved.task,
        resolved.parallelism,
        resolved.compiled,
        resolved.sequence_length,
        resolved.image_size,
        resolved.num_frames,
        resolved.denoising_steps,
        resolved.framework,
        resolved.source,
        resolved.hardware_description,
        resolved.catalog_model_name is not null as is_known_model,
        resolved.catalog_hardware_name is not null as is_known_hardware,

        -- measures
        resolved.throughput,
        resolved.latency_ms,
        coalesce(
            resolved.latency_kind,
            case when resolved.latency_ms is not null then '{{ var("default_latency_kind") }}' end
        ) as latency_kind,
        resolved.memory_mb,
        resolved.power_w,
        resolved.power_scope,
        resolved.power_derived,
        resolved.energy_per_item_j,
        resolved.latency_p50_ms,
        resolved.latency_p90_ms,
        resolved.latency_p99_ms,
        resolved.throughput_cv,
        resolved.repeats,

        -- timestamps
        resolved.measured_at

    from resolved
    left join models
        on resolved.catalog_model_name = models.model_name

)

select * from final
