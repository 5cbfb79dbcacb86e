-- The CRM accounts snapshot of every night as the history asset wrote it (raw values,
-- not cleaned: the snapshot is a copy of raw.accounts), renamed only.
with source as (
    select * from {{ source('history', 'crm_accounts') }}
),

renamed as (
    select
        as_of as snapshot_as_of,
        account_id,
        account_name,
        parent_account_id,
        owner,
        industry,
        region,
        employees,
        potential
    from source
)

select * from renamed
