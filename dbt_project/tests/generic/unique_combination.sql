{#- Fails on every combination of `columns` held by more than one row. With
    `lines_changed` (the invoice-line change log, for a model keyed by line), an
    incremental night tests only the keys it rebuilt (macro rebuilt_tonight), each with
    all its rows: the previous successful build tested the others, and a night that
    cannot build incrementally builds, and tests, in full.
    Rows are grouped by the hash of their key first, one integer each, and only the
    rows whose hash repeats (the duplicates, and a rare collision) by the key itself:
    grouping 96M invoice lines by their text keys spilled to disk. -#}
{% test unique_combination(model, columns, lines_changed=none) %}
    {%- set key = columns | join(', ') %}
    with tested as (
        select {{ key }} from {{ model }}
        {%- if lines_changed is not none and var('previous_as_of', none) is not none %}
        where ({{ key }}) in (
            select ({{ key }}) from {{ model }} where {{ rebuilt_tonight(lines_changed) }}
        )
        {%- endif %}
    ),

    repeated_hashes as (
        select hash({{ key }}) as key_hash from tested group by 1 having count(*) > 1
    )

    select {{ key }}, count(*) as n
    from tested
    where hash({{ key }}) in (select key_hash from repeated_hashes)
    group by {{ key }}
    having count(*) > 1
{% endtest %}
