{#- docs/scale.md, incremental nights. The nightly step (pipelines/marts/incremental.py)
    sets var('previous_as_of') to the as_of of the last successful build when tonight may
    build incrementally: the same dbt project, rules and FX rates, an as_of in the same
    month and not earlier, and a change log without 'reset'. Otherwise it runs dbt with
    --full-refresh and no such var. Run by hand without the var, an existing incremental
    model is emptied and rebuilt whole (see delete_for_rebuild). -#}

{#- The var first: a unit test has no relation for is_incremental() to look at. -#}
{% macro is_incremental_night() -%}
    {{ return(var('previous_as_of', none) is not none and is_incremental()) }}
{%- endmacro %}

{#- Each comparison of a line's date with a bound that moves with as_of, as in
    int_invoice_lines_converted (invoice_date <= as_of) and int_client_revenue_windows'
    bounds: (column, the bound's offset from as_of, side, whether it moves a client's
    monthly figures). 'after': the line counts while its date is after the bound (or
    on/before as_of), so as the bound moves from old to new it flips for dates in
    (old, new]; 'before': it counts while its date is before the bound, flipping for
    dates in [old, new). The month-based bounds do not move within a month. The monthly
    mart reads a client's lines up to as_of, for the clients of the base (a line after
    the 24-month start): only those two bounds move its rows. -#}
{% macro moving_bounds() -%}
    {%- set months = "interval (" ~ var('window_months') ~ ") month" -%}
    {{ return([
        ('invoice_date', "interval 0 day", 'after', true),
        ('invoice_date', months, 'after', false),
        ('invoice_date', "interval (" ~ 2 * var('window_months') ~ ") month", 'after', false),
        ('invoice_date', "interval (" ~ var('activity_months') ~ ") month", 'after', true),
        ('due_date', "interval 0 day", 'before', false),
        ('due_date', "interval (" ~ var('overdue_days') ~ ") day", 'before', false),
        ('paid_date', "interval 0 day", 'after', false),
        ('paid_date', months, 'after', false),
    ]) }}
{%- endmacro %}

{#- True for a line that an incremental night converts again: a line whose key
    tonight's change log has as `new` (a new or changed line), or one dated after the
    previous build's as_of. `changes` is the change log's relation. The filter of
    int_invoice_lines_converted, and the scope of the line-level tests on such a night
    (the generic tests' `lines_changed` argument): the previous build tested the rest. -#}
{% macro rebuilt_tonight(changes) -%}
    (
        (invoice_id, line_no) in (
            select (invoice_id, line_no) from {{ changes }} where change = 'new'
        )
        or invoice_date > date '{{ var("previous_as_of") }}'
    )
{%- endmacro %}

{#- True for a line that one of the moving bounds passed over between the previous
    build's as_of and tonight's: its part in its client's figures may have changed.
    `monthly`: only the bounds that move the monthly mart's rows. -#}
{% macro crosses_a_moving_bound(monthly=false) -%}
    {%- set tonight = "date '" ~ var('as_of') ~ "'" -%}
    {%- set before = "date '" ~ var('previous_as_of') ~ "'" -%}
    (false
    {%- for column, offset, side, moves_months in moving_bounds() if moves_months or not monthly %}
        {%- set old = "(" ~ before ~ " - " ~ offset ~ ")::date" -%}
        {%- set new = "(" ~ tonight ~ " - " ~ offset ~ ")::date" %}
        {%- if side == 'after' %}
        or ({{ column }} > {{ old }} and {{ column }} <= {{ new }})
        {%- else %}
        or ({{ column }} >= {{ old }} and {{ column }} < {{ new }})
        {%- endif %}
    {%- endfor %})
{%- endmacro %}

{#- An incremental model's pre-hook: on an incremental night, delete the rows of `keys`
    (a column list) found in `relation` (its rows that meet `where`), which the model then appends again; run by
    hand without the night's var, delete every row, which the model appends whole. -#}
{% macro delete_for_rebuild(keys, relation, where='true') -%}
    {%- if is_incremental_night() -%}
        delete from {{ this }}
        where ({{ keys }}) in (select ({{ keys }}) from {{ relation }} where {{ where }})
    {%- elif is_incremental() -%}
        delete from {{ this }}
    {%- else -%}
        select 1
    {%- endif -%}
{%- endmacro %}
