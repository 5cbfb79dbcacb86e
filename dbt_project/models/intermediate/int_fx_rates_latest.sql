-- The latest rate on or before as_of per currency, for amounts that are not tied to a
-- dated invoice (open deals, leads' budgets). Both rates come from that one row (a
-- null included: it says which of the two the row gives), at full precision; rows
-- without either rate are left out (see int_fx_rates_daily).
with rates as (
    select * from {{ ref('stg_billing__fx_rates') }}
    where rate_date <= {{ as_of_date() }}
        and (rate_to_reporting is not null or units_per_reporting is not null)
),

latest as (
    select
        currency,
        rate_to_reporting,
        units_per_reporting,
        rate_date
    from rates
    qualify row_number() over (partition by currency order by rate_date desc) = 1
)

select * from latest
