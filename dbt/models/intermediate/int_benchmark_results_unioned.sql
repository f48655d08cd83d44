-- Every source's staging rows in one relation again (var benchmark_sources, then the imports), so
-- everything downstream treats all sources alike.
{%- set staged = var('benchmark_sources').keys() | list + ['imports'] %}

{% for name in staged -%}
select * from {{ ref('stg_' ~ name ~ '__benchmark_results') }}
{% if not loop.last %}union all by name
{% endif %}
{%- endfor %}
