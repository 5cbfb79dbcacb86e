-- Won deals that revenue.source: won_deals cannot count, with the reason: no close
-- date and no expected close date (the deal cannot be dated into a window), or no
-- amount. Should be empty; its test warns, and the run log names the count.
with won as (
    select * from {{ ref('int_deals_defaulted') }}
    where is_won
),

excluded as (
    select
        deal_id,
        account_id,
        stage,
        amount,
        currency,
        case
            when closed_date is null and expected_close_date is null
                then 'won deal without a close date or an expected close date: cannot be dated'
            else 'won deal without an amount'
        end as reason
    from won
    where (closed_date is null and expected_close_date is null)
        or amount is null
)

select * from excluded
