with source as (
    select * from {{ source('billing', 'products') }}
),

renamed as (
    select
        product_code,
        name as product_name,
        family as product_family,
        coalesce(is_standard, true) as is_standard
    from source
)

select * from renamed
