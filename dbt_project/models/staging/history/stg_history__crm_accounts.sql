-- The CRM accounts snapshot of every night as the history asset wrote it (a copy of
-- raw.accounts), cleaned as stg_crm__accounts cleans tonight's accounts: retention
-- compares the two, so " C1" kept last night and "C1" tonight are the same parent.
with source as (
    select * from {{ source('history', 'crm_accounts') }}
),

renamed as (
    select
        as_of as snapshot_as_of,
        account_id,
        account_name,
        nullif(trim(parent_account_id), '') as parent_account_id,
        owner,
        lower(trim(industry)) as industry,
        region,
        employees,
        lower(potential) as potential
    from source
)

select * from renamed
