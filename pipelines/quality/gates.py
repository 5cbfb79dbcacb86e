"""The blocking quality gates (client_segments, retention_risks, lead_rankings) and the
audit log publication trusts.

FACTS: a blocking check stops downstream assets in the same run, but a later run that
selects only publication would still run. So every verdict is recorded with a
fingerprint of the exact content audited, and publication re-verifies it.
"""

import duckdb
from dagster import (
    AssetCheckExecutionContext,
    AssetCheckResult,
    AssetChecksDefinition,
    AssetCheckSeverity,
    AssetKey,
    AssetSpec,
    MetadataValue,
    asset_check,
)

from assets.segments import vip_rank_cutoff
from assets.vocabulary import Severity
from expectations.client_segments import ClientSegmentsExpectations, validate_client_segments
from expectations.cross_sell import CHECK_COLUMNS as CROSS_SELL_CHECK_COLUMNS
from expectations.cross_sell import validate_cross_sell
from expectations.lead_rankings import validate_lead_rankings
from expectations.retention_risks import validate_retention_risks
from expectations.runner import ValidationOutcome
from expectations.sales_funnel import (
    FUNNEL_CHECK_COLUMNS,
    STAGES_CHECK_COLUMNS,
    validate_sales_funnel,
    validate_sales_funnel_stages,
)
from pipelines.catalog import table_metadata
from pipelines.db import fetch_one
from pipelines.marts.models import Marts, relation
from pipelines.resources import PipelineSettings, Warehouse
from pipelines.rules.cross_sell import CROSS_SELL_COLUMNS
from pipelines.rules.funnel import (
    SALES_FUNNEL,
    SALES_FUNNEL_COLUMNS,
    SALES_FUNNEL_STAGES,
    SALES_FUNNEL_STAGES_COLUMNS,
)
from pipelines.rules.leads import LEAD_RANKINGS, LEAD_RANKINGS_COLUMNS
from pipelines.rules.segmentation import (
    CLIENT_PROFILES,
    CLIENT_RISK,
    CLIENT_SEGMENTS,
    CLIENT_SEGMENTS_COLUMNS,
    CROSS_SELL,
    RETENTION_RISKS,
)
from pipelines.settings import OWNER

AUDIT_LOG_KEY = AssetKey(["audit", "audit_log"])
AUDIT_LOG = relation(AUDIT_LOG_KEY)
AUDITED_TABLE = relation(CLIENT_SEGMENTS)
RETENTION_TABLE = relation(RETENTION_RISKS)
LEADS_TABLE = relation(LEAD_RANKINGS)
CROSS_SELL_TABLE = relation(CROSS_SELL)
FUNNEL_TABLE = relation(SALES_FUNNEL)
FUNNEL_STAGES_TABLE = relation(SALES_FUNNEL_STAGES)
# Every table publication takes only after its latest audit passed on this content.
GATED_TABLES = (
    AUDITED_TABLE,
    RETENTION_TABLE,
    LEADS_TABLE,
    CROSS_SELL_TABLE,
    FUNNEL_TABLE,
    FUNNEL_STAGES_TABLE,
)

# Written by the gates (asset checks, which cannot materialize an asset), read by
# publication: declared so that the lineage shows what publication trusts.
audit_log = AssetSpec(
    AUDIT_LOG_KEY,
    metadata=table_metadata(AUDIT_LOG_KEY),
    deps=[
        CLIENT_SEGMENTS,
        RETENTION_RISKS,
        LEAD_RANKINGS,
        CROSS_SELL,
        SALES_FUNNEL,
        SALES_FUNNEL_STAGES,
    ],
    group_name="quality",
    owners=[OWNER],
    kinds={"duckdb"},
    description=(
        "Every verdict of the blocking quality gates: run, table, the fingerprint of the "
        "exact content audited, passed, and the failed expectations. Written by the "
        "quality gates of client_segments, retention_risks, lead_rankings, cross_sell, "
        "sales_funnel and sales_funnel_stages; publication re-verifies the latest verdict "
        "of each table against its current content."
    ),
)


def table_fingerprint(con: duckdb.DuckDBPyConnection, table: str) -> str:
    """Row count and an order-independent hash of every row's full content."""
    rows, digest = fetch_one(
        con, f"select count(*), coalesce(sum(hash(t)), 0)::hugeint from {table} as t"
    )
    return f"{rows}:{digest}"


def record_audit(
    con, run_id: str, table: str, fingerprint: str, passed: bool, failures: list[str]
) -> None:
    con.execute("create schema if not exists audit")
    con.execute(
        f"""create table if not exists {AUDIT_LOG} (
            run_id varchar, table_name varchar, fingerprint varchar, passed boolean,
            failures varchar[], checked_at timestamp)"""
    )
    con.execute(
        f"insert into {AUDIT_LOG} values (?, ?, ?, ?, ?, now()::timestamp)",
        [run_id, table, fingerprint, passed, failures],
    )


def latest_audit(con, table: str = AUDITED_TABLE) -> tuple[str, bool, list[str]] | None:
    exists = fetch_one(
        con,
        "select count(*) from information_schema.tables "
        "where table_schema = 'audit' and table_name = 'audit_log'",
    )[0]
    if not exists:
        return None
    return fetch_one(
        con,
        f"""select fingerprint, passed, failures from {AUDIT_LOG}
            where table_name = ? order by checked_at desc limit 1""",
        [table],
    )


def expectations_for_night(
    con, settings: PipelineSettings, marts: Marts
) -> ClientSegmentsExpectations:
    rules = settings.rules()
    dim_clients = relation(marts.dim_clients)
    client_base = con.sql(f"select account_id, revenue_t12m from {dim_clients}").df()
    total, paying = fetch_one(
        con,
        "select coalesce(sum(revenue_t12m), 0)::double, count(*) filter (where revenue_t12m > 0)"
        f" from {dim_clients}",
    )
    return ClientSegmentsExpectations(
        client_base=client_base,
        revenue_t12m_total=total,
        vip_rank_cutoff=vip_rank_cutoff(paying, rules.segments),
        min_rows=rules.quality.min_clients,
        columns=CLIENT_SEGMENTS_COLUMNS,
        key_levels=rules.corporate_tiers.key_levels,
    )


def _verdict(
    context: AssetCheckExecutionContext,
    con,
    table: str,
    outcome: ValidationOutcome,
    rows: int,
) -> AssetCheckResult:
    """Record the verdict with the fingerprint of what was audited; publication trusts
    nothing else."""
    fingerprint = table_fingerprint(con, table)
    record_audit(
        con,
        context.op_execution_context.run_id,
        table,
        fingerprint,
        outcome.success,
        outcome.failures,
    )
    for failure in outcome.failures:
        context.log.error(f"quality gate on {table}: {failure}")
    return AssetCheckResult(
        passed=outcome.success,
        severity=AssetCheckSeverity.ERROR,
        description=(
            "all expectations met"
            if outcome.success
            else f"{len(outcome.failures)} of {outcome.evaluated} expectations failed: "
            "publication is blocked"
        ),
        metadata={
            "expectations_evaluated": outcome.evaluated,
            "failures": MetadataValue.json(outcome.failures),
            "rows": rows,
            "fingerprint": fingerprint,
        },
    )


def build_quality_gates(marts: Marts) -> list[AssetChecksDefinition]:
    """The blocking gates; they read `marts` besides the table they audit."""

    @asset_check(
        asset=CLIENT_SEGMENTS,
        name="client_segments_quality_gate",
        additional_deps=[marts.dim_clients],
        blocking=True,
        description=(
            "Great Expectations suite (expectations/client_segments.py), blocking publication: "
            "one unique, non-null row per client of the night's base, segments, tiers and risk "
            "levels in their sets, revenue_t12m reconciling with the revenue mart to the kopeck "
            "per client and in total, VIPs within the top 5% by rank, a row-count floor and the "
            "exact column set."
        ),
    )
    def client_segments_quality_gate(
        context: AssetCheckExecutionContext, settings: PipelineSettings, warehouse: Warehouse
    ) -> AssetCheckResult:
        with warehouse.connect() as con:
            frame = con.sql(f"select * from {AUDITED_TABLE}").df()
            outcome = validate_client_segments(frame, expectations_for_night(con, settings, marts))
            return _verdict(context, con, AUDITED_TABLE, outcome, len(frame))

    @asset_check(
        asset=RETENTION_RISKS,
        name="retention_risks_quality_gate",
        additional_deps=[CLIENT_RISK, CLIENT_PROFILES],
        blocking=True,
        description=(
            "Great Expectations suite (expectations/retention_risks.py), blocking publication: "
            "every flag in the known set with the severity the rules give it, one row per client "
            "and flag, evidence and action present; per client, risk_score equal to the sum of "
            "its flags' points and risk_level consistent with the score and the flags."
        ),
    )
    def retention_risks_quality_gate(
        context: AssetCheckExecutionContext, settings: PipelineSettings, warehouse: Warehouse
    ) -> AssetCheckResult:
        rules = settings.rules().retention
        escalating = ", ".join(f"'{s}'" for s in rules.high_flag_segments) or "''"
        with warehouse.connect() as con:
            flags = con.sql(f"select * from {RETENTION_TABLE}").df()
            client_risk = con.sql(
                f"""select r.account_id, r.risk_score, r.risk_level,
                           coalesce(sum(f.severity_points), 0)::integer as flag_points,
                           coalesce(bool_or(f.severity = '{Severity.HIGH}'
                                            and p.segment in ({escalating})), false) as escalated
                    from {relation(CLIENT_RISK)} as r
                    join {relation(CLIENT_PROFILES)} as p using (account_id)
                    left join {RETENTION_TABLE} as f using (account_id)
                    group by all"""
            ).df()
            outcome = validate_retention_risks(flags, client_risk, rules)
            return _verdict(context, con, RETENTION_TABLE, outcome, len(flags))

    @asset_check(
        asset=LEAD_RANKINGS,
        name="lead_rankings_quality_gate",
        additional_deps=[marts.lead_inputs],
        blocking=True,
        description=(
            "Great Expectations suite (expectations/lead_rankings.py), blocking publication: "
            "BANT components in 1..5, bant_score equal to their product, ranks unique and "
            "contiguous from 1, every lead in profile ranked and every excluded lead unranked, "
            "readiness and buyer class in their sets, one row per lead loaded tonight (none "
            "without a leads export) and the exact column set."
        ),
    )
    def lead_rankings_quality_gate(
        context: AssetCheckExecutionContext, warehouse: Warehouse
    ) -> AssetCheckResult:
        with warehouse.connect() as con:
            frame = con.sql(
                f"""select *, bant_budget * bant_authority * bant_need * bant_time as bant_product,
                           excluded_reason is not null as is_excluded
                    from {LEADS_TABLE}"""
            ).df()
            # One row per lead loaded tonight: no leads export means an empty, valid table.
            lead_inputs = fetch_one(con, f"select count(*) from {relation(marts.lead_inputs)}")[0]
            outcome = validate_lead_rankings(
                frame, lead_inputs, [*LEAD_RANKINGS_COLUMNS, "bant_product", "is_excluded"]
            )
            return _verdict(context, con, LEADS_TABLE, outcome, len(frame))

    @asset_check(
        asset=CROSS_SELL,
        name="cross_sell_quality_gate",
        additional_deps=[marts.dim_clients, marts.client_product_families, CLIENT_PROFILES],
        blocking=True,
        description=(
            "Great Expectations suite (expectations/cross_sell.py), blocking publication: no "
            "row for a family the client already buys, adoption shares in 0..1, peer counts "
            "equal to the client base's own count of the peer group and adopters within it, "
            "one row per client and family, ranks 1..n per client, and the exact column set."
        ),
    )
    def cross_sell_quality_gate(
        context: AssetCheckExecutionContext, warehouse: Warehouse
    ) -> AssetCheckResult:
        with warehouse.connect() as con:
            frame = con.sql(
                f"""with base as (
                        select d.account_id,
                               coalesce(nullif(lower(trim(d.industry)), ''), 'unknown')
                                   || ' / ' || p.size_tier as peer_group
                        from {relation(marts.dim_clients)} as d
                        join {relation(CLIENT_PROFILES)} as p using (account_id)
                    ),
                    group_sizes as (
                        select peer_group, count(*) as clients from base group by peer_group
                    ),
                    per_client as (
                        select account_id, count(*) as client_rows, max(rank_for_client) as last
                        from {CROSS_SELL_TABLE} group by account_id
                    )
                    select c.*,
                           coalesce(f.is_bought, false) as already_buys,
                           coalesce(b.peer_group = c.peer_group
                                    and g.clients = c.peer_group_clients, false)
                               as peer_count_matches,
                           coalesce(pc.last = pc.client_rows, false) as rank_is_contiguous,
                           coalesce(c.peer_group_adopters between 0 and c.peer_group_clients,
                                    false) as adopters_within_group
                    from {CROSS_SELL_TABLE} as c
                    left join {relation(marts.client_product_families)} as f
                        using (account_id, product_family)
                    left join base as b using (account_id)
                    left join group_sizes as g on g.peer_group = b.peer_group
                    left join per_client as pc using (account_id)"""
            ).df()
            outcome = validate_cross_sell(frame, [*CROSS_SELL_COLUMNS, *CROSS_SELL_CHECK_COLUMNS])
            return _verdict(context, con, CROSS_SELL_TABLE, outcome, len(frame))

    @asset_check(
        asset=SALES_FUNNEL,
        name="sales_funnel_quality_gate",
        additional_deps=[marts.deals],
        blocking=True,
        description=(
            "Great Expectations suite (expectations/sales_funnel.py), blocking publication: "
            "win rates in 0..1, deals_won <= deals_closed, one row per dimension and group, "
            "every dimension present, and per dimension the closed and won deals reconciling "
            "with the deals mart's deals closed in the window."
        ),
    )
    def sales_funnel_quality_gate(
        context: AssetCheckExecutionContext, warehouse: Warehouse
    ) -> AssetCheckResult:
        with warehouse.connect() as con:
            closed, won = fetch_one(
                con,
                f"""select count(*) filter (where is_closed_in_window),
                           count(*) filter (where is_closed_in_window and is_won)
                    from {relation(marts.deals)}""",
            )
            frame = con.sql(
                f"""with per_dimension as (
                        select dimension, sum(deals_closed) as closed, sum(deals_won) as won
                        from {FUNNEL_TABLE} group by dimension
                    )
                    select f.*, d.closed = {closed} as closed_reconciles,
                           d.won = {won} as won_reconciles,
                           f.deals_won <= f.deals_closed as won_within_closed
                    from {FUNNEL_TABLE} as f join per_dimension as d using (dimension)"""
            ).df()
            outcome = validate_sales_funnel(
                frame, closed, [*SALES_FUNNEL_COLUMNS, *FUNNEL_CHECK_COLUMNS]
            )
            return _verdict(context, con, FUNNEL_TABLE, outcome, len(frame))

    @asset_check(
        asset=SALES_FUNNEL_STAGES,
        name="sales_funnel_stages_quality_gate",
        additional_deps=[SALES_FUNNEL],
        blocking=True,
        description=(
            "Great Expectations suite (expectations/sales_funnel.py), blocking publication: "
            "stages in the funnel's order, conversions in 0..1, one row per dimension, group "
            "and stage, and no group reaching a stage with more deals than it closed."
        ),
    )
    def sales_funnel_stages_quality_gate(
        context: AssetCheckExecutionContext, warehouse: Warehouse
    ) -> AssetCheckResult:
        with warehouse.connect() as con:
            frame = con.sql(
                f"""select s.*, coalesce(s.deals_reached <= f.deals_closed, false)
                               as reached_within_closed
                    from {FUNNEL_STAGES_TABLE} as s
                    left join {FUNNEL_TABLE} as f using (dimension, group_value)"""
            ).df()
            outcome = validate_sales_funnel_stages(
                frame, [*SALES_FUNNEL_STAGES_COLUMNS, *STAGES_CHECK_COLUMNS]
            )
            return _verdict(context, con, FUNNEL_STAGES_TABLE, outcome, len(frame))

    return [
        client_segments_quality_gate,
        retention_risks_quality_gate,
        lead_rankings_quality_gate,
        cross_sell_quality_gate,
        sales_funnel_quality_gate,
        sales_funnel_stages_quality_gate,
    ]
