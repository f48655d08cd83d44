-- One row per device: the hardware_devices seed plus the devices loads describe (raw.catalog_hardware;
-- a seed device keeps its seed row), with one column per spec of stg_catalog__hardware_specs.
with

seed_spellings as (

    {{ catalog_spellings(ref('hardware_devices'), ref('hardware_aliases'), 'hardware_name') }}

),

devices as (

    {{ merged_catalog(
        ref('hardware_devices'), source('raw', 'catalog_hardware'), 'seed_spellings', 'hardware_name',
        {
            'vendor': 'trim(vendor)',
            'hardware_platform': 'lower(trim(hardware_platform))',
            'device_class': 'lower(trim(device_class))',
            'architecture': 'trim(architecture)',
            'release_year': 'cast(release_year as integer)',
            'source': 'source',
        },
    ) }}

),

specs_pivoted as (

    select
        hardware_name,
        {{ pivot_specs(var('hardware_spec_names')) }}
    from {{ ref('stg_catalog__hardware_specs') }}
    group by hardware_name

),

final as (

    select
        -- ids
        devices.hardware_name,

        -- dimensions
        devices.vendor,
        devices.hardware_platform,
        devices.device_class,
        devices.architecture,
        devices.release_year,
        devices.source,
        devices.load_id as catalog_load_id,

        -- specs
        {{ spec_columns('specs_pivoted', var('hardware_spec_names')) }}

    from devices
    left join specs_pivoted
        on devices.hardware_name = specs_pivoted.hardware_name

)

select * from final
