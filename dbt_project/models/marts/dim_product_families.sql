-- docs/cross_sell.md: the product families of tonight's products export, the ones cross-sell can
-- offer (a family nobody buys yet is offered too, with an adoption share of 0).
with products as (
    select
        product_code,
        nullif(trim(product_family), '') as product_family
    from {{ ref('stg_billing__products') }}
),

families as (
    select
        product_family,
        count(*)::integer as product_count,
        string_agg(product_code, ', ' order by product_code) as product_codes
    from products
    where product_family is not null
    group by product_family
)

select * from families
