{#- Shared spellings and unit rules, so every model resolves names and precisions the same way. -#}

{% macro name_key(expression) -%}
    lower(trim(regexp_replace({{ expression }}, '\s+', ' ', 'g')))
{%- endmacro %}


{% macro map_values(expression, mapping) -%}
    {#- Replace known spellings by their canonical value; anything else passes through. -#}
    case {{ expression }}
        {%- for spelling, canonical in mapping.items() %}
        when '{{ spelling }}' then '{{ canonical }}'
        {%- endfor %}
        else {{ expression }}
    end
{%- endmacro %}


{% macro canonical_precision(expression) -%}
    {{ map_values(expression, var('precision_aliases')) }}
{%- endmacro %}


{% macro canonical_mode(expression) -%}
    {{ map_values(expression, var('mode_aliases')) }}
{%- endmacro %}


{% macro canonical_platform(expression) -%}
    {{ map_values(expression, var('platform_aliases')) }}
{%- endmacro %}


{% macro precision_bytes(precision) -%}
    case {{ precision }}
        {%- for name, width in var('precision_bytes').items() %}
        when '{{ name }}' then cast({{ width }} as double)
        {%- endfor %}
    end
{%- endmacro %}


{% macro sql_list(values) -%}
    ({%- for value in values -%}'{{ value }}'{{ ", " if not loop.last }}{%- endfor -%})
{%- endmacro %}


{% macro pivot_specs(spec_names) -%}
    {#- One column per spec from a long (name, spec, value) table; used with group by name. -#}
    {%- for spec in spec_names %}
    max(case when spec = '{{ spec }}' then value end) as {{ spec }}{{ "," if not loop.last }}
    {%- endfor %}
{%- endmacro %}
