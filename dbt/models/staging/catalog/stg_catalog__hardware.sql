with

devices as (

    select * from {{ ref('hardware_devices') }}

),

specs as (

    select
        trim(hardware_name) as hardware_name,
        lower(trim(spec)) as spec,
        cast(value as double) as value
    from {{ ref('hardware_specs') }}

),

specs_pivoted as (

    select
        hardware_name,
        {{ pivot_specs(var('hardware_spec_names')) }}
    from specs
    group by hardware_name

),

final as (

    select
        -- ids
        trim(devices.hardware_name) as hardware_name,

        -- dimensions
        trim(devices.vendor) as vendor,
        lower(trim(devices.hardware_platform)) as hardware_platform,
        lower(trim(devices.device_class)) as device_class,
        trim(devices.architecture) as architecture,
        cast(devices.release_year as integer) as release_year,
        devices.source,

        -- specs
        {%- for spec in var('hardware_spec_names') %}
        {%- if spec == 'compute_units' %}
        cast(specs_pivoted.{{ spec }} as integer) as {{ spec }}{{ "," if not loop.last }}
        {%- else %}
        specs_pivoted.{{ spec }}{{ "," if not loop.last }}
        {%- endif %}
        {%- endfor %}

    from devices
    left join specs_pivoted
        on trim(devices.hardware_name) = specs_pivoted.hardware_name

)

select * from final
