-- DOMAIN 2: each line at the rate of its invoice date or the latest earlier one;
-- reporting-currency lines take rate 1. Lines dated after as_of are ignored.
with lines as (
    select * from {{ ref('stg_billing__invoice_lines') }}
    where invoice_date <= {{ as_of_date() }}
),

daily_rates as (
    select * from {{ ref('int_fx_rates_daily') }}
),

with_rates as (
    select
        lines.*,
        case
            when lines.currency = '{{ var("reporting_currency") }}' then 1
            else daily_rates.rate_to_reporting
        end as fx_rate,
        case
            when lines.currency = '{{ var("reporting_currency") }}' then lines.invoice_date
            else daily_rates.rate_date
        end as fx_rate_date
    from lines
    left join daily_rates
        on lines.currency = daily_rates.currency
        and lines.invoice_date = daily_rates.rate_day
),

converted as (
    select
        *,
        round(amount * fx_rate, 2)::decimal(18, 2) as amount_reporting,
        fx_rate is null as is_missing_fx_rate
    from with_rates
)

select * from converted
