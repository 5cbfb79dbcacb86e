-- docs/revenue.md: net revenue per client of the night's base and calendar month (the 24
-- months ending with as_of's month) with the month's MRR-style movement, for the night's
-- as_of. A view over int_client_revenue_monthly, which is built incrementally.
{{ config(materialized='view') }}

with monthly as (
    select * from {{ ref('int_client_revenue_monthly') }}
),

final as (
    select
        account_id,
        revenue_month,
        {{ as_of_date() }} as as_of,
        revenue,
        previous_month_revenue,
        revenue_change,
        movement
    from monthly
)

select * from final
