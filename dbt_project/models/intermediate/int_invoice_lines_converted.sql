-- docs/revenue.md: each revenue line (invoice line, or won deal: int_revenue_lines) at the
-- rate of its date or the latest earlier one; reporting-currency lines take rate 1.
-- Lines dated after as_of are ignored. The rate is used at full precision (divided by
-- when given as units per reporting unit) and the amount rounded half-up to 2
-- decimals once, at the end (macro to_reporting).
-- Stored, not a view: the conversion (every line joined to its day's rate) is the
-- costliest step over the lines, and five models and their tests read it; as a view
-- each of them would convert every line again (9.6M lines: 10 s each).
-- Incremental (docs/scale.md): on an incremental night only the changed lines and those
-- dated after the previous build's as_of are converted; a changed line's stored
-- version is deleted first (pre-hook), whatever its new date.
-- depends_on: {{ ref('stg_billing__invoice_line_changes') }}
{{ config(
    materialized='incremental',
    incremental_strategy='append',
    on_schema_change='fail',
    pre_hook="{{ delete_for_rebuild('invoice_id, line_no', ref('stg_billing__invoice_line_changes')) }}",
) }}

with lines as (
    select * from {{ ref('int_revenue_lines') }}
    where invoice_date <= {{ as_of_date() }}
    {% if is_incremental_night() %}
        and {{ rebuilt_tonight(ref('stg_billing__invoice_line_changes')) }}
    {% endif %}
),

daily_rates as (
    select * from {{ ref('int_fx_rates_daily') }}
),

with_rates as (
    select
        lines.invoice_id,
        lines.line_no,
        lines.account_id,
        lines.invoice_date,
        lines.amount,
        lines.currency,
        lines.product_code,
        lines.status,
        lines.is_cancelled,
        lines.due_date,
        lines.paid_date,
        lines.revenue_source,
        case
            when lines.currency = '{{ var("reporting_currency") }}' then 1
            else daily_rates.rate_to_reporting
        end as fx_rate,
        case
            when lines.currency <> '{{ var("reporting_currency") }}'
                then daily_rates.units_per_reporting
        end as fx_units_per_reporting,
        case
            when lines.currency = '{{ var("reporting_currency") }}' then lines.invoice_date
            else daily_rates.rate_date
        end as fx_rate_date
    from lines
    left join daily_rates
        on lines.currency = daily_rates.currency
            and lines.invoice_date = daily_rates.rate_day
),

converted as (
    select
        *,
        {{ to_reporting('amount', 'currency', 'fx_rate', 'fx_units_per_reporting') }}
            as amount_reporting,
        fx_rate is null and fx_units_per_reporting is null as is_missing_fx_rate
    from with_rates
)

select * from converted
