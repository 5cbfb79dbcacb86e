-- The night's load of every source with what a reader must know beyond row counts
-- (published as load_report): billed accounts missing from tonight's CRM keep their
-- revenue with empty attributes, and lines with no FX rate cannot be converted.
with loads as (
    select * from {{ ref('stg_ingest__load_report') }}
),

clients as (
    select * from {{ ref('dim_clients') }}
),

lines_without_rate as (
    select count(*) as line_count from {{ ref('int_invoice_lines_missing_fx_rate') }}
),

billing_notes as (
    select
        'invoice_lines' as source_name,
        concat_ws(
            '; ',
            case
                when count(*) filter (where not clients.is_in_crm) > 0
                    then count(*) filter (where not clients.is_in_crm)
                        || ' billed client(s) missing from the CRM snapshot: revenue kept, '
                        || 'attributes empty'
            end,
            case
                when (select lines_without_rate.line_count from lines_without_rate) > 0
                    then (select lines_without_rate.line_count from lines_without_rate)
                        || ' line(s) without an FX rate, left out of revenue'
            end
        ) as notes
    from clients
)

select
    loads.source,
    loads.part,
    loads.file_name,
    loads.sha256,
    loads.rows_read,
    loads.rows_loaded,
    loads.rows_filtered,
    loads.rows_rejected,
    concat_ws('; ', nullif(loads.loader_note, ''), nullif(billing_notes.notes, '')) as notes,
    loads.loaded_by_run_id,
    loads.loaded_at
from loads
left join billing_notes on loads.source = billing_notes.source_name
