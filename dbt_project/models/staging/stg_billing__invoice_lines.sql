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
        -- DOMAIN 2: a line with no currency is in the reporting currency.
        upper(coalesce(currency, '{{ var("reporting_currency") }}')) as currency,
        product_code,
        coalesce(status, 'issued') as status,
        coalesce(status = 'cancelled', false) as is_cancelled,
        due_date,
        paid_date
    from source
)

select * from renamed
