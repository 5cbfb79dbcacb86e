"""Retention-risk asset: the flags of docs/retention.md per client, from the retention signals
mart and the night's segments. Thin wiring around `assets/retention.py`."""

from collections.abc import Iterator

from dagster import (
    AssetExecutionContext,
    AssetsDefinition,
    AssetSpec,
    MaterializeResult,
    MetadataValue,
    multi_asset,
)

from assets import retention as rules_retention
from assets.vocabulary import RETENTION_FLAGS, RiskLevel
from pipelines.catalog import lineage_metadata, table_metadata
from pipelines.db import fetch_one
from pipelines.marts.models import Marts, relation
from pipelines.resources import PipelineSettings, Warehouse
from pipelines.rules.segmentation import (
    CLIENT_PROFILES,
    CLIENT_RISK,
    RETENTION_RISKS,
    absent_sources,
    mart_as_of,
)
from pipelines.settings import OWNER

SCHEMA = "retention"
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


def build_retention_assets(marts: Marts) -> list[AssetsDefinition]:
    """retention_risks and client_risk over the retention signals mart."""
    signals_table = relation(marts.retention_signals)

    @multi_asset(
        name="retention__retention_risks",
        specs=[
            AssetSpec(
                RETENTION_RISKS,
                metadata=table_metadata(RETENTION_RISKS),
                deps=[marts.retention_signals, CLIENT_PROFILES],
                group_name=SCHEMA,
                owners=[OWNER],
                kinds={"python", "pandas", "duckdb"},
                description=(
                    "One row per client and fired retention-risk flag (docs/retention.md: "
                    f"{', '.join(RETENTION_FLAGS)}) with severity, evidence in words and "
                    "figures and the recommended action. A flag whose input file is absent "
                    "tonight is skipped with a logged note."
                ),
            ),
            AssetSpec(
                CLIENT_RISK,
                metadata=table_metadata(CLIENT_RISK),
                deps=[marts.retention_signals, CLIENT_PROFILES],
                group_name=SCHEMA,
                owners=[OWNER],
                kinds={"python", "duckdb"},
                description=(
                    "One row per client of the night's base: risk_score (the sum of its "
                    "flags' severity points), risk_level and risk_flags, written with "
                    "retention_risks from the same flags; client_segments joins it."
                ),
            ),
        ],
    )
    def retention_risks(
        context: AssetExecutionContext, settings: PipelineSettings, warehouse: Warehouse
    ) -> Iterator[MaterializeResult]:
        rules = settings.rules()
        with warehouse.connect() as con:
            as_of = mart_as_of(con, marts)
            signals = con.sql(f"select * from {signals_table} order by account_id").df()
            profiles = con.sql(f"select account_id, segment from {relation(CLIENT_PROFILES)}").df()
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
                f"select count(*) > 0 from {signals_table} where was_in_previous_snapshot",
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
                f"""create or replace table {relation(CLIENT_RISK)} as
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
                    join {signals_table} as s using (account_id)
                    join {relation(CLIENT_PROFILES)} as p using (account_id)
                    join {relation(CLIENT_RISK)} as r using (account_id)
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
                    from {relation(CLIENT_RISK)} as r
                    join {signals_table} as s using (account_id)
                    group by r.risk_level order by r.risk_level"""
            ).df()
        at_risk = float(levels.loc[levels["risk_level"] == RiskLevel.HIGH, "revenue"].sum())
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
        yield MaterializeResult(
            asset_key=CLIENT_RISK,
            metadata={
                **lineage_metadata(CLIENT_RISK, warehouse.path),
                "dagster/row_count": len(summary),
                "risk_levels": MetadataValue.md(level_table),
            },
        )
        yield MaterializeResult(
            asset_key=RETENTION_RISKS,
            metadata={
                **lineage_metadata(RETENTION_RISKS, warehouse.path),
                "dagster/row_count": len(flags),
                "revenue_at_risk": MetadataValue.float(at_risk),
                "flags": MetadataValue.md(flag_table),
                "risk_levels": MetadataValue.md(level_table),
                "skipped_flags": MetadataValue.json(skipped),
            },
        )

    return [retention_risks]
