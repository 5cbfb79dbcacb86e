with source as (
    select * from {{ source('crm', 'contacts') }}
),

renamed as (
    select
        contact_id,
        account_id,
        full_name,
        title,
        role,
        email,
        phone,
        coalesce(is_active, true) as is_active
    from source
)

select * from renamed
