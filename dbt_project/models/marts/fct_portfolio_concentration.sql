-- docs/revenue.md: dependence on few clients: top-5/10/100 share of revenue_t12m and the
-- Herfindahl-Hirschman index of client shares (0..10,000 on percentage points). Published
-- to BI as portfolio_concentration (pipelines: publish).
with clients as (
    select
        revenue_t12m,
        revenue_rank
    from {{ ref('dim_clients') }}
    where revenue_t12m > 0
),

-- Sums of exact decimals, divided once: a sum of DOUBLE shares depends on the order the
-- rows are added in, which differs between a full and an incremental build.
totals as (
    select
        count(*)::integer as paying_clients,
        coalesce(sum(revenue_t12m), 0)::decimal(18, 2) as total_revenue_t12m,
        sum(revenue_t12m) filter (where revenue_rank <= 5) as top5_revenue,
        sum(revenue_t12m) filter (where revenue_rank <= 10) as top10_revenue,
        sum(revenue_t12m) filter (where revenue_rank <= 100) as top100_revenue,
        sum(revenue_t12m::decimal(38, 2) * revenue_t12m) as revenue_squares
    from clients
),

summary as (
    select
        {{ as_of_date() }} as as_of,
        paying_clients,
        total_revenue_t12m,
        coalesce(top5_revenue / nullif(total_revenue_t12m, 0), 0)::double as top5_share,
        coalesce(top10_revenue / nullif(total_revenue_t12m, 0), 0)::double as top10_share,
        coalesce(top100_revenue / nullif(total_revenue_t12m, 0), 0)::double as top100_share,
        coalesce(
            revenue_squares / nullif(total_revenue_t12m::decimal(38, 2) * total_revenue_t12m, 0)
            * 10000,
            0
        )::double as hhi
    from totals
)

select * from summary
