-- docs/revenue.md: per-client revenue figures over windows ending at as_of, for every client
-- of the night's base (a non-cancelled line in the last 24 months).
-- Stored, not a view: the ABC classification, dim_clients, the monthly mart and their
-- tests all read it, and as a view each of them would re-aggregate every invoice line.
-- Incremental (docs/scale.md): on an incremental night the clients touched tonight
-- (int_clients_touched_tonight) are deleted and computed again from all their lines; a
-- client that left the base is not appended again.
-- depends_on: {{ ref('int_clients_touched_tonight') }}
{{ config(
    materialized='incremental',
    incremental_strategy='append',
    on_schema_change='fail',
    pre_hook="{{ delete_for_rebuild('account_id', ref('int_clients_touched_tonight')) }}",
) }}

-- The revenue lines of fct_invoice_lines (the converted lines that have a rate),
-- cancelled lines left out.
with lines as (
    select * from {{ ref('int_invoice_lines_converted') }}
    where not is_missing_fx_rate
        and not is_cancelled
    {% if is_incremental_night() %}
        and account_id in (select account_id from {{ ref('int_clients_touched_tonight') }})
    {% endif %}
),

bounds as (
    select
        {{ as_of_date() }} as as_of,
        {{ months_before_as_of(var('window_months')) }} as t12m_start,
        {{ months_before_as_of(2 * var('window_months')) }} as prev_t12m_start,
        {{ months_before_as_of(var('activity_months')) }} as base_start,
        (
            date_trunc('month', {{ as_of_date() }})
            - interval ({{ var('activity_months') - 1 }}) month
        )::date as first_active_month,
        {{ as_of_date() }} - {{ var('overdue_days') }} as overdue_cutoff,
        -- docs/retention.md, in calendar months like active_months_24m: the recent months end
        -- with as_of's month; the lapsed look-back is the months just before them.
        date_trunc('month', {{ as_of_date() }})::date as as_of_month,
        (
            date_trunc('month', {{ as_of_date() }})
            - interval ({{ var('recent_months') - 1 }}) month
        )::date as recent_start,
        -- The same calendar months a year earlier (whole months).
        (
            date_trunc('month', {{ as_of_date() }})
            - interval ({{ var('recent_months') - 1 }}) month
        )::date - interval 12 month as prior_year_recent_start,
        date_trunc('month', {{ as_of_date() }})::date - interval 12 month as prior_year_as_of_month,
        (
            date_trunc('month', {{ as_of_date() }})
            - interval ({{ var('recent_months') + var('lapsed_lookback_months') - 1 }}) month
        )::date as lookback_start
),

monthly as (
    select
        account_id,
        date_trunc('month', invoice_date)::date as revenue_month,
        sum(amount_reporting) as revenue
    from lines
    group by all
),

active_months as (
    select
        monthly.account_id,
        count(*) filter (
            where monthly.revenue > 0
            and monthly.revenue_month >= bounds.first_active_month
        ) as active_months_24m,
        coalesce(sum(monthly.revenue) filter (
            where monthly.revenue_month between bounds.recent_start and bounds.as_of_month
        ), 0) as revenue_recent_months,
        coalesce(sum(monthly.revenue) filter (
            where monthly.revenue_month >= bounds.prior_year_recent_start
            and monthly.revenue_month <= bounds.prior_year_as_of_month
        ), 0) as revenue_recent_months_prior_year,
        count(*) filter (
            where monthly.revenue > 0
            and monthly.revenue_month >= bounds.lookback_start
            and monthly.revenue_month < bounds.recent_start
        ) as active_months_before_recent
    from monthly
    cross join bounds
    where monthly.revenue_month >= least(bounds.first_active_month, bounds.lookback_start)
    group by all
),

per_client as (
    select
        lines.account_id,
        coalesce(sum(lines.amount_reporting) filter (
            where lines.invoice_date > bounds.t12m_start
        ), 0) as revenue_t12m,
        coalesce(sum(lines.amount_reporting) filter (
            where lines.invoice_date > bounds.prev_t12m_start
            and lines.invoice_date <= bounds.t12m_start
        ), 0) as revenue_prev_t12m,
        min(lines.invoice_date) as first_invoice_date,
        max(lines.invoice_date) as last_invoice_date,
        count(distinct lines.product_code) filter (
            where lines.invoice_date > bounds.t12m_start
        ) as products_t12m,
        count(distinct lines.product_code) filter (
            where lines.invoice_date > bounds.prev_t12m_start
            and lines.invoice_date <= bounds.t12m_start
        ) as products_prev_t12m,
        coalesce(sum(lines.amount_reporting) filter (
            where lines.due_date < bounds.as_of
            and (lines.paid_date is null or lines.paid_date > bounds.as_of)
        ), 0) as overdue_amount,
        coalesce(sum(lines.amount_reporting) filter (
            where lines.due_date < bounds.overdue_cutoff
            and (lines.paid_date is null or lines.paid_date > bounds.as_of)
        ), 0) as overdue_30_amount,
        avg(greatest(0, lines.paid_date - lines.due_date)) filter (
            where lines.paid_date > bounds.t12m_start and lines.paid_date <= bounds.as_of
        ) as avg_days_late,
        bool_or(lines.invoice_date > bounds.base_start) as is_in_client_base
    from lines
    cross join bounds
    group by all
),

final as (
    select
        per_client.account_id,
        per_client.revenue_t12m,
        per_client.revenue_prev_t12m,
        case
            when per_client.revenue_prev_t12m > 0
                then per_client.revenue_t12m / per_client.revenue_prev_t12m - 1
        end as growth,
        per_client.first_invoice_date,
        per_client.last_invoice_date,
        coalesce(active_months.active_months_24m, 0) as active_months_24m,
        coalesce(active_months.revenue_recent_months, 0) as revenue_recent_months,
        coalesce(active_months.revenue_recent_months_prior_year, 0)
            as revenue_recent_months_prior_year,
        coalesce(active_months.active_months_before_recent, 0) as active_months_before_recent,
        per_client.products_t12m,
        per_client.products_prev_t12m,
        per_client.overdue_amount,
        per_client.overdue_30_amount,
        per_client.avg_days_late
    from per_client
    left join active_months using (account_id)
    where per_client.is_in_client_base
)

select * from final
