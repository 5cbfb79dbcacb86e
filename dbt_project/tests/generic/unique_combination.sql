{#- Fails on every combination of `columns` held by more than one row. With
    `lines_changed` (the invoice-line change log, for a model keyed by line), an
    incremental night tests only the keys it rebuilt (macro rebuilt_tonight), each with
    all its rows: the previous successful build tested the others, and a night that
    cannot build incrementally builds, and tests, in full. -#}
{% test unique_combination(model, columns, lines_changed=none) %}
    {%- set key = columns | join(', ') %}
    select {{ key }}, count(*) as n
    from {{ model }}
    {%- if lines_changed is not none and var('previous_as_of', none) is not none %}
    where ({{ key }}) in (
        select ({{ key }}) from {{ model }} where {{ rebuilt_tonight(lines_changed) }}
    )
    {%- endif %}
    group by {{ key }}
    having count(*) > 1
{% endtest %}
