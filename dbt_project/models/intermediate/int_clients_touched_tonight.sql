-- docs/scale.md: on an incremental night, the clients whose revenue figures may differ
-- from the last build's: a line of theirs changed (its stored or new version), or one of
-- their lines has a date between where a window bound was at the previous build's
-- as_of and where it is tonight (macro crosses_a_moving_bound). The per-client models
-- rebuild just these; the monthly mart only those with months_touched. Empty on other
-- nights, which build in full.
-- depends_on: {{ ref('stg_billing__invoice_line_changes') }}
-- depends_on: {{ ref('int_invoice_lines_converted') }}
{{ config(materialized='table') }}

{% if var('previous_as_of', none) is not none %}
    select
        account_id,
        bool_or(months_touched) as months_touched
    from (
        select
            account_id,
            true as months_touched
        from {{ ref('stg_billing__invoice_line_changes') }}
        where account_id is not null
        union all
        select
            account_id,
            {{ crosses_a_moving_bound(monthly=true) }} as months_touched
        from {{ ref('int_invoice_lines_converted') }}
        where {{ crosses_a_moving_bound() }}
    )
    group by account_id
{% else %}
    select
        null::varchar as account_id,
        null::boolean as months_touched
    where false
{% endif %}
