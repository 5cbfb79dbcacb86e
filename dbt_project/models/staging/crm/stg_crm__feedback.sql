-- Renamed and cast only. The export has no key of its own (several answers of one
-- account on one day are possible), so the row is identified by where it was read:
-- export file and record number, unique within tonight's full snapshot.
with source as (
    select * from {{ source('crm', 'feedback') }}
),

renamed as (
    select
        _source_file || ':' || _source_line::varchar as feedback_id,
        account_id,
        answered_at as answered_date,
        nps,
        csat,
        coalesce(is_complaint, false) as is_complaint
    from source
)

select * from renamed
