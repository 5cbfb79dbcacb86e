-- docs/funnel.md: the stages each of tonight's deals entered, and when (the first time, when
-- a deal went back and entered a stage again). The evidence, in order of trust:
--   deal_stage_history - the CRM's own log of stage changes, when tonight's landing
--                        folder has that export;
--   nightly_snapshot   - else the nightly CRM history of deals: the first night the
--                        pipeline saw the deal in the stage (up to as_of, so a
--                        backfilled night never sees later ones);
--   tonight            - tonight's stage of every deal, dated as_of when nothing
--                        earlier shows it.
with tonight_deals as (
    select * from {{ ref('stg_crm__deals') }}
),

exported as (
    select
        deal_id,
        stage,
        entered_at
    from {{ ref('stg_crm__deal_stage_history') }}
    where entered_at < {{ as_of_date() }} + interval 1 day
),

snapshots as (
    select
        deal_id,
        stage,
        min(snapshot_as_of)::timestamp as entered_at
    from {{ ref('stg_history__crm_deals') }}
    where snapshot_as_of <= {{ as_of_date() }}
    group by deal_id, stage
),

events as (
    select
        deal_id,
        stage,
        entered_at,
        'deal_stage_history' as evidence
    from exported
    union all
    select
        deal_id,
        stage,
        entered_at,
        'nightly_snapshot' as evidence
    from snapshots
    where not exists (select 1 from exported)
    union all
    select
        deal_id,
        stage,
        {{ as_of_date() }}::timestamp as entered_at,
        'tonight' as evidence
    from tonight_deals
),

first_entry as (
    select
        events.deal_id,
        events.stage,
        min(events.entered_at) as entered_at,
        arg_min(events.evidence, events.entered_at) as evidence
    from events
    inner join tonight_deals using (deal_id)
    group by events.deal_id, events.stage
)

select * from first_entry
