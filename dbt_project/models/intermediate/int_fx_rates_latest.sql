-- The latest rate on or before as_of per currency, for amounts that are not tied to a
-- dated invoice (deals, leads' budgets).
with rates as (
    select * from {{ ref('stg_billing__fx_rates') }}
    where rate_date <= {{ as_of_date() }}
),

latest as (
    select
        currency,
        arg_max(rate_to_reporting, rate_date) as rate_to_reporting,
        max(rate_date) as rate_date
    from rates
    group by currency
)

select * from latest
