-- docs/funnel.md: one row per CRM deal with what the sales funnel needs: its value in the
-- reporting currency (latest rate on or before as_of, as every deal amount, docs/revenue.md),
-- whether it closed in the window of revenue.window_months ending at as_of (docs/revenue.md's
-- window rule on closed_at: a closed deal without a close date is in no window), and
-- its sales cycle in days (none for a deal closed before it was created: a back-dated
-- import, not a cycle). The account's size inputs come along so that the deal's size
-- tier follows the clients' rule (docs/tiers.md) for accounts outside the base too.
with deals as (
    select * from {{ ref('int_deals_defaulted') }}
),

latest_rates as (
    select * from {{ ref('int_fx_rates_latest') }}
),

accounts as (
    select * from {{ ref('stg_crm__accounts') }}
),

final as (
    select
        deals.deal_id,
        deals.account_id,
        accounts.account_id is not null as is_account_in_crm,
        accounts.industry as account_industry,
        accounts.employees as account_employees,
        accounts.annual_revenue as account_annual_revenue,
        deals.stage,
        deals.is_closed,
        deals.is_closed and deals.is_won as is_won,
        deals.created_date,
        deals.closed_date,
        coalesce(
            deals.is_closed
            and deals.closed_date > {{ months_before_as_of(var('window_months')) }}
            and deals.closed_date <= {{ as_of_date() }},
            false
        ) as is_closed_in_window,
        case
            when deals.is_closed and deals.closed_date >= deals.created_date
                then (deals.closed_date - deals.created_date)::integer
        end as cycle_days,
        deals.amount,
        deals.currency,
        {{ to_reporting('deals.amount', 'deals.currency', 'latest_rates.rate_to_reporting',
            'latest_rates.units_per_reporting') }} as amount_reporting
    from deals
    left join latest_rates using (currency)
    left join accounts using (account_id)
)

select * from final
