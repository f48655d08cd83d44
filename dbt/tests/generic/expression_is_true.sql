{#- Fails for every row where the expression is false or null (use `coalesce` for optional columns). -#}
{% test expression_is_true(model, expression, column_name=none) %}

with

failures as (
    select *
    from {{ model }}
    where not coalesce(({{ expression }}), false)
)

select * from failures

{% endtest %}
