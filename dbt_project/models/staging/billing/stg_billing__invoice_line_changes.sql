-- The invoice lines changed since the last successful build, each as its stored ('old')
-- and new ('new') version: the keys and the client and dates the incremental models
-- need to know what a change touches. 'reset' rows are read by the nightly step, which
-- then builds in full.
with source as (
    select * from {{ source('billing', 'invoice_lines_changes') }}
),

renamed as (
    select
        change,
        run_id,
        invoice_id,
        line_no,
        account_id,
        invoice_date,
        due_date,
        paid_date
    from source
    where change in ('old', 'new')
)

select * from renamed
