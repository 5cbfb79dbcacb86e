"""Retention-risk asset: the flags of DOMAIN 7 per client, from the retention signals
mart and the night's segments. Thin wiring around `assets/retention.py`."""

from dagster import AssetExecutionContext, AssetKey, MaterializeResult, MetadataValue, asset

from assets import retention as rules_retention
from pipelines.db import fetch_one
from pipelines.resources import PipelineSettings, Warehouse
from pipelines.rules.segmentation import (
    CLIENT_PROFILES,
    RETENTION_RISKS,
    absent_sources,
    mart_as_of,
)
from pipelines.settings import OWNER

SCHEMA = "retention"
SIGNALS = AssetKey(["marts", "fct_client_retention_signals"])
RETENTION_RISKS_COLUMNS = [
    "account_id",
    "as_of",
    "segment",
    "flag",
    "severity",
    "severity_points",
    "evidence",
    "recommended_action",
    "revenue_t12m",
    "risk_score",
    "risk_level",
    "run_id",
    "config_version",
]


@asset(
    key=RETENTION_RISKS,
    deps=[SIGNALS, CLIENT_PROFILES],
    group_name=SCHEMA,
    owners=[OWNER],
    kinds={"python", "pandas", "duckdb"},
    description=(
        "One row per client and fired retention-risk flag (DOMAIN 7: revenue_decline, "
        "lapsed, payment_delay, contract_expiring, product_contraction, low_satisfaction, "
        "no_contact, decision_maker_lost, ownership_change) with severity, evidence in "
        "words and figures and the recommended action. Also writes retention.client_risk "
        "(risk_score, risk_level, risk_flags per client) for client_segments. A flag whose "
        "input file is absent tonight is skipped with a logged note."
    ),
)
def retention_risks(
    context: AssetExecutionContext, settings: PipelineSettings, warehouse: Warehouse
) -> MaterializeResult:
    rules = settings.rules()
    with warehouse.connect() as con:
        as_of = mart_as_of(con)
        signals = con.sql(
            "select * from marts.fct_client_retention_signals order by account_id"
        ).df()
        profiles = con.sql("select account_id, segment from segmentation.client_profiles").df()
        absent = absent_sources(con)
        empty_inputs = {
            (source, column)
            for source, column in rules_retention.FLAG_INPUT_COLUMNS.values()
            if fetch_one(con, f"select count({column}) = 0 from raw.{source}")[0]
        }
        skipped = rules_retention.skipped_flags(absent, empty_inputs)
        for flag, why in skipped.items():
            context.log.warning(f"retention flag {flag} skipped: {why}")
        for flag, why in rules_retention.qualified_flags(absent).items():
            context.log.warning(f"retention flag {flag}: {why}")
        has_previous = fetch_one(
            con,
            "select count(*) > 0 from marts.fct_client_retention_signals "
            "where was_in_previous_snapshot",
        )[0]
        if not has_previous:
            context.log.info(
                "ownership_change: no earlier CRM snapshot to compare with yet (first night)"
            )
        segments = profiles.set_index("account_id")["segment"]
        flags = rules_retention.evaluate_flags(
            signals, segments, rules.retention, as_of, skip=set(skipped), absent=absent
        )
        clients = signals[["account_id", "revenue_t12m"]].assign(
            segment=signals["account_id"].map(segments)
        )
        summary = rules_retention.summarize_client_risk(flags, clients, rules.retention)
        con.execute(f"create schema if not exists {SCHEMA}")
        con.register("_summary", summary)
        con.execute(
            f"""create or replace table {SCHEMA}.client_risk as
                select account_id, risk_score::integer as risk_score, risk_level,
                       risk_flags::varchar[] as risk_flags from _summary"""
        )
        con.unregister("_summary")
        con.register("_flags", flags)
        con.execute(
            f"""create or replace table {SCHEMA}.retention_risks as
                select f.account_id, ?::date as as_of, p.segment, f.flag, f.severity,
                       f.severity_points::integer as severity_points, f.evidence,
                       f.recommended_action, s.revenue_t12m, r.risk_score, r.risk_level,
                       ?::varchar as run_id, ?::varchar as config_version
                from _flags as f
                join marts.fct_client_retention_signals as s using (account_id)
                join segmentation.client_profiles as p using (account_id)
                join {SCHEMA}.client_risk as r using (account_id)
                order by f.account_id, f.severity_points desc, f.flag""",
            [as_of, context.run_id, rules.version],
        )
        con.unregister("_flags")
        by_flag = con.sql(
            f"""select flag, any_value(severity) as severity, count(*) as clients,
                       sum(revenue_t12m)::double as revenue
                from {SCHEMA}.retention_risks group by flag order by clients desc"""
        ).df()
        levels = con.sql(
            f"""select r.risk_level, count(*) as clients,
                       sum(s.revenue_t12m)::double as revenue
                from {SCHEMA}.client_risk as r
                join marts.fct_client_retention_signals as s using (account_id)
                group by r.risk_level order by r.risk_level"""
        ).df()
    at_risk = float(levels.loc[levels["risk_level"] == "high", "revenue"].sum())
    flag_table = "| flag | severity | clients | their revenue_t12m |\n|---|---|---:|---:|\n" + (
        "\n".join(
            f"| {r.flag} | {r.severity} | {r.clients} | {r.revenue:,.0f} |"
            for r in by_flag.itertuples()
        )
    )
    level_table = "| risk_level | clients | revenue_t12m |\n|---|---:|---:|\n" + "\n".join(
        f"| {r.risk_level} | {r.clients} | {r.revenue:,.0f} |" for r in levels.itertuples()
    )
    context.log.info(f"retention risk for {as_of}: revenue at risk {at_risk:,.2f}")
    return MaterializeResult(
        metadata={
            "dagster/row_count": len(flags),
            "revenue_at_risk": MetadataValue.float(at_risk),
            "flags": MetadataValue.md(flag_table),
            "risk_levels": MetadataValue.md(level_table),
            "skipped_flags": MetadataValue.json(skipped),
        }
    )
