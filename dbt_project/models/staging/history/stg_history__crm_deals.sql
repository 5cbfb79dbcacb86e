-- The CRM deals snapshot of every night as the history asset wrote it (a copy of
-- raw.deals' key, account and stage): the stages a deal was seen in, night after night.
with source as (
    select * from {{ source('history', 'crm_deals') }}
),

renamed as (
    select
        as_of as snapshot_as_of,
        deal_id,
        account_id,
        stage
    from source
)

select * from renamed
