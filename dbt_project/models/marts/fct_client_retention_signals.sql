-- docs/retention.md: the facts every retention-risk flag is decided on, one row per client of
-- the night's base. The thresholds are applied in Python (assets/retention.py) from
-- config/segmentation.yml; this model only gathers the figures, each dated at as_of.
with clients as (
    select * from {{ ref('dim_clients') }}
),

windows as (
    select * from {{ ref('int_client_revenue_windows') }}
),

-- The next end date among running contracts that do not renew themselves.
expiring_contracts as (
    select
        account_id,
        min(end_date) as next_non_renewing_end_date,
        arg_min(contract_id, end_date) as next_non_renewing_contract_id
    from {{ ref('stg_billing__contracts') }}
    where not is_auto_renew
        and start_date <= {{ as_of_date() }}
        and end_date >= {{ as_of_date() }}
    group by account_id
),

feedback as (
    select * from {{ ref('stg_crm__feedback') }}
    where answered_date <= {{ as_of_date() }}
),

latest_feedback as (
    select
        account_id,
        arg_max(nps, answered_date) filter (where nps is not null) as latest_nps,
        max(answered_date) filter (where nps is not null) as latest_nps_date,
        arg_max(csat, answered_date) filter (where csat is not null) as latest_csat,
        max(answered_date) filter (where csat is not null) as latest_csat_date,
        max(answered_date) filter (where is_complaint) as latest_complaint_date
    from feedback
    group by account_id
),

last_activity as (
    select
        account_id,
        max(occurred_at)::date as last_activity_date
    from {{ ref('stg_crm__activities') }}
    where occurred_at::date <= {{ as_of_date() }}
    group by account_id
),

decision_makers as (
    select
        account_id,
        count(*) as active_decision_makers
    from {{ ref('stg_crm__contacts') }}
    where is_active and role = 'decision_maker'
    group by account_id
),

-- The CRM snapshots of every night kept so far (tonight's included).
crm_history as (
    select * from {{ ref('stg_history__crm_accounts') }}
),

-- The latest night before this one that has a CRM snapshot.
previous_night as (
    select max(snapshot_as_of) as previous_snapshot_as_of
    from crm_history
    where snapshot_as_of < {{ as_of_date() }}
),

previous_accounts as (
    select
        crm_history.account_id,
        crm_history.parent_account_id,
        crm_history.snapshot_as_of as as_of
    from crm_history
    inner join previous_night
        on crm_history.snapshot_as_of = previous_night.previous_snapshot_as_of
),

final as (
    select
        clients.account_id,
        clients.as_of,
        clients.is_in_crm,
        clients.revenue_t12m,
        clients.revenue_prev_t12m,
        clients.growth,
        windows.revenue_recent_months::decimal(18, 2) as revenue_recent_months,
        windows.revenue_recent_months_prior_year::decimal(18, 2)
            as revenue_recent_months_prior_year,
        windows.active_months_before_recent::integer as active_months_before_recent,
        clients.overdue_30_amount,
        clients.avg_days_late,
        clients.products_t12m,
        windows.products_prev_t12m::integer as products_prev_t12m,
        expiring_contracts.next_non_renewing_contract_id,
        expiring_contracts.next_non_renewing_end_date,
        clients.open_deals,
        latest_feedback.latest_nps::integer as latest_nps,
        latest_feedback.latest_nps_date,
        latest_feedback.latest_csat::integer as latest_csat,
        latest_feedback.latest_csat_date,
        latest_feedback.latest_complaint_date,
        last_activity.last_activity_date,
        coalesce(decision_makers.active_decision_makers, 0)::integer
            as active_decision_makers,
        clients.parent_account_id,
        previous_accounts.as_of as previous_snapshot_as_of,
        previous_accounts.account_id is not null as was_in_previous_snapshot,
        previous_accounts.parent_account_id as previous_parent_account_id
    from clients
    inner join windows using (account_id)
    left join expiring_contracts using (account_id)
    left join latest_feedback using (account_id)
    left join last_activity using (account_id)
    left join decision_makers using (account_id)
    left join previous_accounts using (account_id)
)

select * from final
