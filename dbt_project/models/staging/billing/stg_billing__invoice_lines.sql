-- Renamed and cast only. A line without a currency keeps a null currency here: the
-- docs/revenue.md default (the reporting currency) and is_cancelled are applied in
-- int_revenue_lines.
with source as (
    select * from {{ source('billing', 'invoice_lines') }}
),

renamed as (
    select
        invoice_id,
        line_no,
        account_id,
        invoice_date,
        amount,
        upper(currency) as currency,
        product_code,
        coalesce(status, 'issued') as status,
        due_date,
        paid_date
    from source
)

select * from renamed
