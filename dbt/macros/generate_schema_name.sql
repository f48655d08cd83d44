{#- Custom schemas are used verbatim (staging, intermediate, marts, catalog), not prefixed with the
    target schema, because other tools read fixed names such as marts.training_features. -#}
{% macro generate_schema_name(custom_schema_name, node) -%}
    {%- if custom_schema_name is none -%}
        {{ target.schema }}
    {%- else -%}
        {{ custom_schema_name | trim }}
    {%- endif -%}
{%- endmacro %}
