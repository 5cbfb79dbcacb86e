-- One row per client of the night's base (docs/revenue.md): every per-client revenue
-- field, the ABC class (docs/segments.md), CRM attributes and the weighted open pipeline.
-- Billing is the truth for money: a client missing from the CRM keeps its revenue
-- with empty attributes (is_in_crm = false).
with revenue as (
    select * from {{ ref('int_client_revenue_windows') }}
),

abc as (
    select * from {{ ref('int_clients_abc_classified') }}
),

accounts as (
    select * from {{ ref('stg_crm__accounts') }}
),

pipeline as (
    select * from {{ ref('int_open_pipeline_by_account') }}
),

-- docs/cross_sell.md's "companies with branches": accounts of tonight's CRM naming the client as
-- their parent.
branches as (
    select
        parent_account_id as account_id,
        count(*) as branch_count
    from accounts
    where parent_account_id is not null
        and parent_account_id <> account_id
    group by parent_account_id
),

final as (
    select
        revenue.account_id,
        accounts.account_name,
        accounts.account_id is not null as is_in_crm,
        {{ as_of_date() }} as as_of,
        accounts.industry,
        accounts.region,
        accounts.owner,
        accounts.employees,
        accounts.annual_revenue,
        accounts.is_government,
        accounts.parent_account_id,
        coalesce(branches.branch_count, 0)::integer as branch_count,
        accounts.potential,
        revenue.revenue_t12m::decimal(18, 2) as revenue_t12m,
        revenue.revenue_prev_t12m::decimal(18, 2) as revenue_prev_t12m,
        revenue.growth::double as growth,
        revenue.first_invoice_date,
        revenue.last_invoice_date,
        revenue.active_months_24m::integer as active_months_24m,
        revenue.products_t12m::integer as products_t12m,
        revenue.overdue_amount::decimal(18, 2) as overdue_amount,
        revenue.overdue_30_amount::decimal(18, 2) as overdue_30_amount,
        revenue.avg_days_late::double as avg_days_late,
        abc.revenue_share::double as revenue_share,
        abc.revenue_rank::integer as revenue_rank,
        abc.cumulative_share_before::double as cumulative_share_before,
        abc.abc_class,
        coalesce(pipeline.open_deals, 0)::integer as open_deals,
        coalesce(pipeline.weighted_open_pipeline, 0)::decimal(18, 2) as weighted_open_pipeline
    from revenue
    inner join abc using (account_id)
    left join accounts using (account_id)
    left join pipeline using (account_id)
    left join branches using (account_id)
)

select * from final
