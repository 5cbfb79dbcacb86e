with source as (
    select * from {{ source('billing', 'fx_rates') }}
),

renamed as (
    select
        rate_date,
        upper(currency) as currency,
        rate_to_reporting
    from source
)

select * from renamed
