-- docs/leads.md: one row per lead with what BANT needs, money in reporting currency at the
-- latest rate on or before as_of. Scoring, ranking and routing are in Python
-- (assets/bant.py) with their thresholds in config/segmentation.yml.
with leads as (
    select * from {{ ref('int_leads_defaulted') }}
),

latest_rates as (
    select * from {{ ref('int_fx_rates_latest') }}
),

won_deals as (
    select
        deals.product_code,
        {{ to_reporting('deals.amount', 'deals.currency', 'latest_rates.rate_to_reporting',
            'latest_rates.units_per_reporting') }} as amount_reporting
    from {{ ref('int_deals_defaulted') }} as deals
    left join latest_rates using (currency)
    where deals.is_won
),

-- Expected deal value: the median won deal of the lead's product, else of all.
median_by_product as (
    select
        product_code,
        median(amount_reporting) as median_won_amount,
        count(*) as won_deals
    from won_deals
    where amount_reporting is not null and product_code is not null
    group by product_code
),

median_overall as (
    select median(amount_reporting) as median_won_amount from won_deals
),

products as (
    select * from {{ ref('stg_billing__products') }}
),

final as (
    select
        leads.lead_id,
        {{ as_of_date() }} as as_of,
        leads.company_name,
        leads.industry,
        leads.employees::bigint as employees,
        leads.annual_revenue::decimal(18, 2) as annual_revenue,
        leads.region,
        leads.lead_source,
        leads.budget::decimal(18, 2) as budget,
        leads.currency,
        {{ to_reporting('leads.budget', 'leads.currency', 'latest_rates.rate_to_reporting',
            'latest_rates.units_per_reporting') }} as budget_reporting,
        coalesce(
            median_by_product.median_won_amount,
            median_overall.median_won_amount
        )::decimal(18, 2) as expected_deal_value,
        case
            when median_by_product.median_won_amount is not null then 'product'
            when median_overall.median_won_amount is not null then 'all_won_deals'
        end as expected_deal_value_basis,
        leads.need,
        leads.decision_date,
        leads.contact_role,
        leads.contact_title,
        leads.product_code,
        products.product_family,
        leads.bant_budget_override::integer as bant_budget_override,
        leads.bant_authority_override::integer as bant_authority_override,
        leads.bant_need_override::integer as bant_need_override,
        leads.bant_time_override::integer as bant_time_override
    from leads
    left join latest_rates using (currency)
    left join median_by_product using (product_code)
    cross join median_overall
    left join products using (product_code)
)

select * from final
