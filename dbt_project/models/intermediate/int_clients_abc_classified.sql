-- Revenue share, rank and ABC class (docs/revenue.md, docs/segments.md). The comparison
-- against the cumulative share *before* a client is done on exact decimals (cumulative revenue
-- < share x total), so a client sitting exactly on 80% or 95% is never misclassed
-- by floating-point rounding.
with clients as (
    select
        account_id,
        revenue_t12m
    from {{ ref('int_client_revenue_windows') }}
),

paying as (
    select
        account_id,
        revenue_t12m,
        sum(revenue_t12m) over () as total_revenue,
        row_number() over (order by revenue_t12m desc, account_id asc) as revenue_rank
    from clients
    where revenue_t12m > 0
),

cumulative as (
    select
        *,
        coalesce(sum(revenue_t12m) over (
            order by revenue_rank rows between unbounded preceding and 1 preceding
        ), 0) as revenue_before
    from paying
),

classified as (
    select
        clients.account_id,
        cumulative.revenue_t12m / cumulative.total_revenue as revenue_share,
        cumulative.revenue_rank,
        cumulative.revenue_before / cumulative.total_revenue as cumulative_share_before,
        case
            when cumulative.revenue_rank is null then 'C'
            when cumulative.revenue_before
                < {{ var('abc_a_share') }} * cumulative.total_revenue then 'A'
            when cumulative.revenue_before
                < {{ var('abc_b_share') }} * cumulative.total_revenue then 'B'
            else 'C'
        end as abc_class
    from clients
    left join cumulative using (account_id)
)

select * from classified
