{#- Fails on every row where the expression is false (dbt-utils cannot be installed
    here). With `lines_changed` (see unique_combination), an incremental night tests
    only the lines it rebuilt: selected first (a materialized CTE), as DuckDB would
    otherwise compute the expression for every line before the filter's subquery
    (9.6M lines: 2.7 s against 0.4 s). -#}
{% test expression_is_true(model, expression, lines_changed=none) %}
    {%- if lines_changed is not none and var('previous_as_of', none) is not none %}
    with rebuilt as materialized (
        select * from {{ model }} where {{ rebuilt_tonight(lines_changed) }}
    )

    select * from rebuilt where not ({{ expression }})
    {%- else %}
    select * from {{ model }} where not ({{ expression }})
    {%- endif %}
{% endtest %}
