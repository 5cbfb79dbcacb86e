-- docs/revenue.md: a line with no rate on or before its date cannot be converted: it is a
-- reject, listed here (and counted in the run summary) instead of silently dropped.
with converted as (
    select * from {{ ref('int_invoice_lines_converted') }}
),

missing as (
    select
        invoice_id,
        line_no,
        account_id,
        invoice_date,
        amount,
        currency,
        'no ' || currency || ' rate on or before ' || invoice_date::varchar as reason
    from converted
    where is_missing_fx_rate
)

select * from missing
