with source as (
    select * from {{ source('billing', 'contracts') }}
),

renamed as (
    select
        contract_id,
        account_id,
        start_date,
        end_date,
        product_code,
        monthly_fee,
        coalesce(auto_renew, false) as is_auto_renew
    from source
)

select * from renamed
