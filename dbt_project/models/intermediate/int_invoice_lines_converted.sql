-- DOMAIN 2: each line at the rate of its invoice date or the latest earlier one;
-- reporting-currency lines take rate 1. Lines dated after as_of are ignored.
with lines as (
    select * from {{ ref('stg_billing__invoice_lines') }}
    where invoice_date <= {{ as_of_date() }}
),

rates as (
    select * from {{ ref('stg_billing__fx_rates') }}
),

with_rates as (
    select
        lines.*,
        case
            when lines.currency = '{{ var("reporting_currency") }}' then 1
            else rates.rate_to_reporting
        end as fx_rate,
        case
            when lines.currency = '{{ var("reporting_currency") }}' then lines.invoice_date
            else rates.rate_date
        end as fx_rate_date
    from lines
    asof left join rates
        on lines.currency = rates.currency
        and lines.invoice_date >= rates.rate_date
),

converted as (
    select
        *,
        round(amount * fx_rate, 2)::decimal(18, 2) as amount_reporting,
        fx_rate is null as is_missing_fx_rate
    from with_rates
)

select * from converted
