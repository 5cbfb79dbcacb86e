-- Revenue lines up to as_of in reporting currency (invoice lines, or one line per won
-- deal under revenue.source: won_deals), keeping the native amount, the currency, the
-- rate (as given: to multiply, or units per reporting unit to divide by) and the rate's
-- date for audit. Lines without a rate are left out here and listed in
-- int_invoice_lines_missing_fx_rate.
-- A view over the table int_invoice_lines_converted: a second full copy of every line
-- would cost a write as large as the conversion itself and add nothing.
{{ config(materialized='view') }}

with converted as (
    select * from {{ ref('int_invoice_lines_converted') }}
    where not is_missing_fx_rate
),

final as (
    select
        invoice_id,
        line_no,
        account_id,
        invoice_date,
        date_trunc('month', invoice_date)::date as invoice_month,
        product_code,
        status,
        is_cancelled,
        amount,
        currency,
        fx_rate,
        fx_units_per_reporting,
        fx_rate_date,
        amount_reporting,
        due_date,
        paid_date,
        revenue_source
    from converted
)

select * from final
