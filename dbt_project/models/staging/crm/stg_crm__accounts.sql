with source as (
    select * from {{ source('crm', 'accounts') }}
),

renamed as (
    select
        account_id,
        name as account_name,
        inn,
        lower(trim(industry)) as industry,
        employees,
        annual_revenue,
        region,
        city,
        coalesce(is_government, false) as is_government,
        nullif(trim(parent_account_id), '') as parent_account_id,
        owner,
        lower(potential) as potential,
        created_at as created_date
    from source
)

select * from renamed
