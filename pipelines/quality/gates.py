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
from expectations.lead_rankings import validate_lead_rankings
from expectations.retention_risks import validate_retention_risks
from expectations.runner import ValidationOutcome
from pipelines.db import fetch_one
from pipelines.marts.models import Marts, relation
from pipelines.resources import PipelineSettings, Warehouse
from pipelines.rules.leads import LEAD_RANKINGS, LEAD_RANKINGS_COLUMNS
from pipelines.rules.segmentation import (
    CLIENT_PROFILES,
    CLIENT_RISK,
    CLIENT_SEGMENTS,
    CLIENT_SEGMENTS_COLUMNS,
    RETENTION_RISKS,
)
from pipelines.settings import OWNER

AUDIT_LOG_KEY = AssetKey(["audit", "audit_log"])
AUDIT_LOG = relation(AUDIT_LOG_KEY)
AUDITED_TABLE = relation(CLIENT_SEGMENTS)
RETENTION_TABLE = relation(RETENTION_RISKS)
LEADS_TABLE = relation(LEAD_RANKINGS)
# Every table publication takes only after its latest audit passed on this content.
GATED_TABLES = (AUDITED_TABLE, RETENTION_TABLE, LEADS_TABLE)

# Written by the gates (asset checks, which cannot materialize an asset), read by
# publication: declared so that the lineage shows what publication trusts.
audit_log = AssetSpec(
    AUDIT_LOG_KEY,
    deps=[CLIENT_SEGMENTS, RETENTION_RISKS, LEAD_RANKINGS],
    group_name="quality",
    owners=[OWNER],
    kinds={"duckdb"},
    description=(
        "Every verdict of the blocking quality gates: run, table, the fingerprint of the "
        "exact content audited, passed, and the failed expectations. Written by "
        "client_segments_quality_gate, retention_risks_quality_gate and "
        "lead_rankings_quality_gate; publication re-verifies the latest verdict of each "
        "table against its current content."
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
    """The three blocking gates; they read `marts` besides the table they audit."""

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

    return [client_segments_quality_gate, retention_risks_quality_gate, lead_rankings_quality_gate]
