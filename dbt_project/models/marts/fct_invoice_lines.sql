-- Invoice lines up to as_of in reporting currency, keeping the native amount, the
-- currency, the rate and the rate's date for audit. Lines without a rate are left
-- out here and listed in int_invoice_lines_missing_fx_rate.
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
        fx_rate_date,
        amount_reporting,
        due_date,
        paid_date
    from converted
)

select * from final
