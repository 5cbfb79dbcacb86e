with source as (
    select * from {{ source('crm', 'feedback') }}
),

renamed as (
    select
        account_id,
        answered_at as answered_date,
        nps,
        csat,
        coalesce(is_complaint, false) as is_complaint
    from source
)

select * from renamed
