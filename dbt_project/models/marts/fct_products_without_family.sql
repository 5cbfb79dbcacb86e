-- docs/cross_sell.md: the products billed in the window of revenue.window_months ending at as_of
-- that map onto no product family, so that cross-sell reports them once instead of
-- guessing a family: one row per product code ('(none)' for lines without one).
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

unmapped as (
    select
        coalesce(lines.product_code, '(none)') as product_code,
        case
            when lines.product_code is null then 'no product code on the line'
            when products.product_code is null then 'not in the products export'
            else 'no family in the products export'
        end as reason,
        count(*)::integer as lines_t12m,
        sum(lines.amount_reporting)::decimal(18, 2) as revenue_t12m
    from lines
    left join products using (product_code)
    where products.product_family is null
    group by all
)

select * from unmapped
