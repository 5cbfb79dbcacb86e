-- docs/cross_sell.md: per client of the night's base and product family, the net revenue of the
-- window of revenue.window_months ending at as_of (cancelled lines left out, credit notes
-- included). A client buys a family when that revenue is > 0. Only families the products
-- export names; lines of other products are listed in fct_products_without_family.
with lines as (
    select * from {{ ref('int_invoice_lines_converted') }}
    where not is_missing_fx_rate
        and not is_cancelled
        and invoice_date > {{ months_before_as_of(var('window_months')) }}
        and invoice_date <= {{ as_of_date() }}
),

products as (
    select
        product_code,
        nullif(trim(product_family), '') as product_family
    from {{ ref('stg_billing__products') }}
),

base as (
    select account_id from {{ ref('int_client_revenue_windows') }}
),

per_family as (
    select
        lines.account_id,
        products.product_family,
        count(*)::integer as lines_t12m,
        sum(lines.amount_reporting)::decimal(18, 2) as revenue_t12m
    from lines
    inner join products using (product_code)
    inner join base using (account_id)
    where products.product_family is not null
    group by lines.account_id, products.product_family
)

select
    *,
    revenue_t12m > 0 as is_bought
from per_family
