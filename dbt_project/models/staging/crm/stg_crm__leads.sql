-- Renamed and cast only; the currency default (docs/revenue.md) is applied in int_leads_defaulted.
with source as (
    select * from {{ source('crm', 'leads') }}
),

renamed as (
    select
        lead_id,
        company_name,
        inn,
        lower(trim(industry)) as industry,
        employees,
        annual_revenue,
        region,
        source as lead_source,
        budget,
        upper(currency) as currency,
        coalesce(need, 'unknown') as need,
        decision_date,
        contact_role,
        contact_title,
        product_code,
        bant_budget as bant_budget_override,
        bant_authority as bant_authority_override,
        bant_need as bant_need_override,
        bant_time as bant_time_override,
        created_at as created_date
    from source
)

select * from renamed
