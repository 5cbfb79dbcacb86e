-- CRM leads with the docs/revenue.md default applied: a budget without a currency is in the
-- reporting currency.
with leads as (
    select * from {{ ref('stg_crm__leads') }}
),

defaulted as (
    select
        lead_id,
        company_name,
        inn,
        industry,
        employees,
        annual_revenue,
        region,
        lead_source,
        budget,
        {{ currency_or_reporting('currency') }} as currency,
        need,
        decision_date,
        contact_role,
        contact_title,
        product_code,
        bant_budget_override,
        bant_authority_override,
        bant_need_override,
        bant_time_override,
        created_date
    from leads
)

select * from defaulted
