-- docs/revenue.md: net revenue per client and calendar month (the 24 months ending with
-- as_of's month) and the month's MRR-style movement against the previous month:
-- new (first positive month ever), expansion, contraction, churn, reactivation,
-- flat, or inactive. fct_client_revenue_monthly adds the night's as_of.
-- Incremental (docs/scale.md): on an incremental night the clients whose months were
-- touched tonight (a line changed, entered by as_of or the client base's start moved
-- over it) are deleted and computed again from all their lines (within a month, the
-- month spine does not move). Without as_of in its rows: a client's months stay the
-- same rows from one night of the month to the next.
-- depends_on: {{ ref('int_clients_touched_tonight') }}
{{ config(
    materialized='incremental',
    incremental_strategy='append',
    on_schema_change='fail',
    pre_hook="{{ delete_for_rebuild(
        'account_id', ref('int_clients_touched_tonight'), where='months_touched'
    ) }}",
) }}

with lines as (
    select
        *,
        date_trunc('month', invoice_date)::date as invoice_month
    from {{ ref('int_invoice_lines_converted') }}
    where not is_missing_fx_rate
        and not is_cancelled
    {% if is_incremental_night() %}
        and account_id in (
            select account_id from {{ ref('int_clients_touched_tonight') }}
            where months_touched
        )
    {% endif %}
),

clients as (
    select account_id from {{ ref('int_client_revenue_windows') }}
    {% if is_incremental_night() %}
        where account_id in (
            select account_id from {{ ref('int_clients_touched_tonight') }}
            where months_touched
        )
    {% endif %}
),

monthly as (
    select
        account_id,
        invoice_month as revenue_month,
        sum(amount_reporting) as revenue
    from lines
    group by all
),

first_positive as (
    select
        account_id,
        min(revenue_month) as first_revenue_month
    from monthly
    where revenue > 0
    group by account_id
),

-- One month more than reported, so the first reported month has a previous month.
month_spine as (
    select unnest(generate_series(
        (
            date_trunc('month', {{ as_of_date() }})
            - interval ({{ var('activity_months') }}) month
        )::date,
        date_trunc('month', {{ as_of_date() }})::date,
        interval 1 month
    ))::date as revenue_month
),

grid as (
    select
        clients.account_id,
        month_spine.revenue_month,
        coalesce(monthly.revenue, 0)::decimal(18, 2) as revenue
    from clients
    cross join month_spine
    left join monthly
        on clients.account_id = monthly.account_id
            and month_spine.revenue_month = monthly.revenue_month
),

with_previous as (
    select
        *,
        lag(revenue) over (partition by account_id order by revenue_month)
            as previous_month_revenue
    from grid
),

classified as (
    select
        with_previous.account_id,
        with_previous.revenue_month,
        with_previous.revenue,
        with_previous.previous_month_revenue::decimal(18, 2) as previous_month_revenue,
        (with_previous.revenue - with_previous.previous_month_revenue)::decimal(18, 2)
            as revenue_change,
        case
            when with_previous.revenue > 0 and with_previous.previous_month_revenue <= 0
                and first_positive.first_revenue_month = with_previous.revenue_month
                then 'new'
            when with_previous.revenue > 0 and with_previous.previous_month_revenue <= 0
                then 'reactivation'
            when with_previous.revenue > 0
                and with_previous.revenue > with_previous.previous_month_revenue
                then 'expansion'
            when with_previous.revenue > 0
                and with_previous.revenue < with_previous.previous_month_revenue
                then 'contraction'
            when with_previous.revenue > 0 then 'flat'
            when with_previous.previous_month_revenue > 0 then 'churn'
            else 'inactive'
        end as movement
    from with_previous
    left join first_positive using (account_id)
    where with_previous.previous_month_revenue is not null
)

select * from classified
