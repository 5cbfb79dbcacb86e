-- CRM deals with the defaults the rules apply where the export is silent:
--   docs/revenue.md: a deal without a currency is in the reporting currency;
--   docs/revenue.md: without is_won a deal is won when its stage is won; without is_closed a
--   deal is open unless its stage is won or lost.
with deals as (
    select * from {{ ref('stg_crm__deals') }}
),

defaulted as (
    select
        deal_id,
        account_id,
        stage,
        amount,
        {{ currency_or_reporting('currency') }} as currency,
        product_code,
        probability,
        created_date,
        expected_close_date,
        closed_date,
        coalesce(is_won, stage = 'won') as is_won,
        coalesce(is_closed, stage in ('won', 'lost')) as is_closed
    from deals
)

select * from defaulted
