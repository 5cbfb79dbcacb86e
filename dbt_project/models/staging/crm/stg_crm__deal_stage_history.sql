-- Renamed only: the optional export of deal stage changes (docs/funnel.md). Absent, it is an
-- empty table and the nightly CRM history of deals shows the path instead
-- (fct_deal_stage_events).
with source as (
    select * from {{ source('crm', 'deal_stage_history') }}
),

renamed as (
    select
        deal_id,
        stage,
        changed_at as entered_at
    from source
)

select * from renamed
