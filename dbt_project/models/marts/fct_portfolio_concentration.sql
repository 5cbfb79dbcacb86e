-- docs/revenue.md: dependence on few clients: top-5/10/100 share of revenue_t12m and the
-- Herfindahl-Hirschman index of client shares (0..10,000 on percentage points). Published
-- to BI as portfolio_concentration (pipelines: publish).
with clients as (
    select * from {{ ref('dim_clients') }}
    where revenue_t12m > 0
),

summary as (
    select
        {{ as_of_date() }} as as_of,
        count(*)::integer as paying_clients,
        coalesce(sum(revenue_t12m), 0)::decimal(18, 2) as total_revenue_t12m,
        coalesce(sum(revenue_share) filter (where revenue_rank <= 5), 0)::double as top5_share,
        coalesce(sum(revenue_share) filter (where revenue_rank <= 10), 0)::double as top10_share,
        coalesce(sum(revenue_share) filter (where revenue_rank <= 100), 0)::double
            as top100_share,
        coalesce(sum(power(revenue_share * 100, 2)), 0)::double as hhi
    from clients
)

select * from summary
