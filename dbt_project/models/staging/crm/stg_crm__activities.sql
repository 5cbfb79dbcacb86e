with source as (
    select * from {{ source('crm', 'activities') }}
),

renamed as (
    select
        activity_id,
        account_id,
        occurred_at,
        type as activity_type,
        contact_id
    from source
)

select * from renamed
