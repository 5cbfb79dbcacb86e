-- Revenue for a company without billing exports (revenue.source: won_deals): one
-- revenue line per won deal, shaped like an invoice line so that everything
-- downstream reads it unchanged. Dated its close date, else its expected close date;
-- a won deal with neither, or without an amount, cannot be counted: it is listed in
-- int_won_deals_excluded_from_revenue instead.
with won as (
    select * from {{ ref('int_deals_defaulted') }}
    where is_won
),

lines as (
    select
        'deal:' || deal_id as invoice_id,
        1::bigint as line_no,
        account_id,
        coalesce(closed_date, expected_close_date) as invoice_date,
        amount,
        currency,
        product_code,
        'paid' as status,
        false as is_cancelled,
        null::date as due_date,
        coalesce(closed_date, expected_close_date) as paid_date,
        deal_id,
        case
            when closed_date is not null then 'closed_date'
            else 'expected_close_date'
        end as dated_by
    from won
    where coalesce(closed_date, expected_close_date) is not null
        and amount is not null
)

select * from lines
