"""The blocking quality gate on client_segments, and the audit log publication trusts.

FACTS: a blocking check stops downstream assets in the same run, but a later run that
selects only publication would still run. So every verdict is recorded with a
fingerprint of the exact content audited, and publication re-verifies it.
"""

import duckdb
from dagster import (
    AssetCheckExecutionContext,
    AssetCheckResult,
    AssetCheckSeverity,
    MetadataValue,
    asset_check,
)

from assets.segments import vip_rank_cutoff
from expectations.client_segments import ClientSegmentsExpectations, validate_client_segments
from pipelines.db import fetch_one
from pipelines.resources import PipelineSettings, Warehouse
from pipelines.segmentation import CLIENT_SEGMENTS, CLIENT_SEGMENTS_COLUMNS, SCHEMA

AUDIT_LOG = "audit.audit_log"
AUDITED_TABLE = f"{SCHEMA}.client_segments"


def table_fingerprint(con: duckdb.DuckDBPyConnection, table: str) -> str:
    """Row count and an order-independent hash of every row's full content."""
    rows, digest = fetch_one(
        con, f"select count(*), coalesce(sum(hash(t)), 0)::hugeint from {table} as t"
    )
    return f"{rows}:{digest}"


def record_audit(con, run_id: str, fingerprint: str, passed: bool, failures: list[str]) -> None:
    con.execute("create schema if not exists audit")
    con.execute(
        f"""create table if not exists {AUDIT_LOG} (
            run_id varchar, table_name varchar, fingerprint varchar, passed boolean,
            failures varchar[], checked_at timestamp)"""
    )
    con.execute(
        f"insert into {AUDIT_LOG} values (?, ?, ?, ?, ?, now()::timestamp)",
        [run_id, AUDITED_TABLE, fingerprint, passed, failures],
    )


def latest_audit(con) -> tuple[str, bool, list[str]] | None:
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
        [AUDITED_TABLE],
    )


def expectations_for_night(con, settings: PipelineSettings) -> ClientSegmentsExpectations:
    rules = settings.rules()
    client_base = con.sql("select account_id, revenue_t12m from marts.dim_clients").df()
    total, paying = fetch_one(
        con,
        "select coalesce(sum(revenue_t12m), 0)::double, count(*) filter (where revenue_t12m > 0)"
        " from marts.dim_clients",
    )
    return ClientSegmentsExpectations(
        client_base=client_base,
        revenue_t12m_total=total,
        vip_rank_cutoff=vip_rank_cutoff(paying, rules.segments),
        min_rows=rules.quality.min_clients,
        columns=CLIENT_SEGMENTS_COLUMNS,
        key_levels=rules.corporate_tiers.key_levels,
    )


@asset_check(
    asset=CLIENT_SEGMENTS,
    name="client_segments_quality_gate",
    blocking=True,
    description=(
        "Great Expectations suite (expectations/client_segments.py), blocking publication: "
        "one unique, non-null row per client of the night's base, segments and tiers in "
        "their sets, revenue_t12m reconciling with the revenue mart to the kopeck per "
        "client and in total, VIPs "
        "within the top 5% by rank, a row-count floor and the exact column set."
    ),
)
def client_segments_quality_gate(
    context: AssetCheckExecutionContext, settings: PipelineSettings, warehouse: Warehouse
) -> AssetCheckResult:
    with warehouse.connect() as con:
        frame = con.sql(f"select * from {AUDITED_TABLE}").df()
        expectations = expectations_for_night(con, settings)
        outcome = validate_client_segments(frame, expectations)
        fingerprint = table_fingerprint(con, AUDITED_TABLE)
        record_audit(
            con, context.op_execution_context.run_id, fingerprint, outcome.success, outcome.failures
        )
    for failure in outcome.failures:
        context.log.error(f"quality gate: {failure}")
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
            "rows": len(frame),
            "fingerprint": fingerprint,
        },
    )
