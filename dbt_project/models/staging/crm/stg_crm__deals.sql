-- Renamed and cast only. Where the export leaves currency, is_won or is_closed empty
-- they stay null here: the defaults (docs/revenue.md) are applied in int_deals_defaulted.
with source as (
    select * from {{ source('crm', 'deals') }}
),

renamed as (
    select
        deal_id,
        account_id,
        stage,
        amount,
        upper(currency) as currency,
        product_code,
        probability,
        created_at as created_date,
        expected_close_date,
        closed_at as closed_date,
        is_won,
        is_closed
    from source
)

select * from renamed
