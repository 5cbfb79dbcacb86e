with source as (
    select * from {{ source('crm', 'deals') }}
),

renamed as (
    select
        deal_id,
        account_id,
        stage,
        amount,
        upper(coalesce(currency, '{{ var("reporting_currency") }}')) as currency,
        product_code,
        probability,
        created_at as created_date,
        expected_close_date,
        closed_at as closed_date,
        coalesce(is_won, stage = 'won') as is_won,
        -- DOMAIN 1: without is_closed a deal is open unless its stage is won or lost.
        coalesce(is_closed, stage in ('won', 'lost')) as is_closed
    from source
)

select * from renamed
