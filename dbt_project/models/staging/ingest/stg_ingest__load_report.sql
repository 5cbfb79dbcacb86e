-- Tonight's load report as the ingest step wrote it, renamed only.
with source as (
    select * from {{ source('ingest', 'load_report') }}
),

renamed as (
    select
        source,
        part,
        file_name,
        sha256,
        rows_read,
        rows_loaded,
        rows_filtered,
        rows_rejected,
        note as loader_note,
        run_id as loaded_by_run_id,
        loaded_at
    from source
)

select * from renamed
