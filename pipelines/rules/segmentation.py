"""Python assets over the marts: client profiles (tiers, growth potential, segment),
the published client segments (profiles plus retention risk), the segment mix and the
segment transitions since the previous published night. Thin wiring around the pure
rules in `assets/`.

Results are written to the warehouse schema `segmentation`: a staging area that the
quality gate audits before anything is published.
"""

import duckdb
import pandas as pd
from dagster import (
    AssetExecutionContext,
    AssetKey,
    AssetsDefinition,
    MaterializeResult,
    MetadataValue,
    asset,
)

from assets import segments as rules_segments
from assets.vocabulary import SEGMENTS, SIZE_TIERS, RiskLevel
from pipelines.catalog import lineage_metadata, table_metadata
from pipelines.db import fetch_one
from pipelines.ingest.crm_history import SEGMENT_HISTORY_TABLE, ensure_history_tables
from pipelines.marts.models import Marts, relation
from pipelines.resources import PipelineSettings, Warehouse
from pipelines.rules.charts import (
    pareto_chart_markdown,
    revenue_at_risk_chart_markdown,
    segment_mix_chart_markdown,
)
from pipelines.settings import OWNER

SCHEMA = "segmentation"
CLIENT_PROFILES = AssetKey([SCHEMA, "client_profiles"])
CLIENT_SEGMENTS = AssetKey([SCHEMA, "client_segments"])
SEGMENT_MIX = AssetKey([SCHEMA, "segment_mix"])
SEGMENT_TRANSITIONS = AssetKey([SCHEMA, "segment_transitions"])
RETENTION_RISKS = AssetKey(["retention", "retention_risks"])
# Per client: risk_score, risk_level, risk_flags; written beside retention_risks.
CLIENT_RISK = AssetKey(["retention", "client_risk"])
# Per client and fitting family it does not buy; client_segments summarises it.
CROSS_SELL = AssetKey(["sales", "cross_sell"])

# The published column order of client_segments (published_at is added on publication).
CLIENT_SEGMENTS_COLUMNS = [
    "account_id",
    "account_name",
    "as_of",
    "segment",
    "segment_reason",
    "service_model",
    "abc_class",
    "revenue_t12m",
    "revenue_prev_t12m",
    "growth",
    "revenue_share",
    "revenue_rank",
    "active_months_24m",
    "growth_potential",
    "size_tier",
    "corporate_tier",
    "industry",
    "region",
    "owner",
    "risk_score",
    "risk_level",
    "risk_flags",
    "revenue_at_risk",
    "top_cross_sell_family",
    "white_space_families",
    "run_id",
    "config_version",
]


def mart_as_of(con: duckdb.DuckDBPyConnection, marts: Marts):
    """The as_of the marts were built for: Python assets follow it, never recompute it."""
    return fetch_one(con, f"select as_of from {relation(marts.portfolio_concentration)}")[0]


def absent_sources(con: duckdb.DuckDBPyConnection) -> set[str]:
    """Sources with no file in tonight's landing folder (load_report says so; a source
    several exports feed is absent when every one of them is)."""
    return {
        row[0]
        for row in con.execute(
            "select source from raw.load_report group by source having count(file_name) = 0"
        ).fetchall()
    }


def _write(con: duckdb.DuckDBPyConnection, table: str, frame: pd.DataFrame) -> None:
    con.execute(f"create schema if not exists {SCHEMA}")
    con.register("_frame", frame)
    con.execute(f"create or replace table {SCHEMA}.{table} as select * from _frame")
    con.unregister("_frame")


TRANSITIONS_SQL = f"""
    with previous_night as (
        select max(as_of) as as_of from {SEGMENT_HISTORY_TABLE} where as_of < $as_of
    ),
    previous as (
        select h.account_id, h.segment, h.revenue_t12m, h.as_of
        from {SEGMENT_HISTORY_TABLE} as h join previous_night using (as_of)
    ),
    tonight as (select account_id, segment, revenue_t12m from {SCHEMA}.client_segments),
    paired as (
        select coalesce(previous.segment, 'none') as from_segment,
               coalesce(tonight.segment, 'none') as to_segment,
               coalesce(previous.revenue_t12m, 0) as previous_revenue,
               coalesce(tonight.revenue_t12m, 0) as current_revenue
        from previous full outer join tonight using (account_id)
    )
    select $as_of::date as as_of, (select as_of from previous_night) as previous_as_of,
           from_segment, to_segment, count(*)::integer as clients,
           sum(previous_revenue)::decimal(18, 2) as revenue_t12m_previous,
           sum(current_revenue)::decimal(18, 2) as revenue_t12m_current,
           (sum(current_revenue) - sum(previous_revenue))::decimal(18, 2) as revenue_change,
           $run_id::varchar as run_id, $config_version::varchar as config_version
    from paired
    where (select as_of from previous_night) is not null
    group by from_segment, to_segment
    order by from_segment, to_segment
"""


def build_segmentation_assets(marts: Marts) -> list[AssetsDefinition]:
    """client_profiles, client_segments, segment_mix and segment_transitions over `marts`."""
    dim_clients = relation(marts.dim_clients)
    portfolio = relation(marts.portfolio_concentration)

    @asset(
        key=CLIENT_PROFILES,
        metadata=table_metadata(CLIENT_PROFILES),
        deps=[marts.dim_clients],
        group_name=SCHEMA,
        owners=[OWNER],
        kinds={"python", "pandas", "duckdb"},
        description=(
            f"One row per client of the night's base: size_tier ({' / '.join(SIZE_TIERS)}; "
            "employees, else annual revenue bands), corporate_tier (top100 / key_1.. "
            "key_<corporate_tiers.key_levels> / mass by revenue_rank), growth "
            "potential with the criteria that fired (docs/growth_potential.md, docs/tiers.md), "
            "and the segment with its reason and service model (docs/segments.md, first "
            "matching rule wins)."
        ),
    )
    def client_profiles(
        context: AssetExecutionContext, settings: PipelineSettings, warehouse: Warehouse
    ) -> MaterializeResult:
        rules = settings.rules()
        with warehouse.connect() as con:
            for note in rules_segments.missing_input_notes(absent_sources(con)).values():
                context.log.warning(f"client profiles: {note}")
            columns = ", ".join(rules_segments.CLIENT_COLUMNS)
            clients = con.sql(f"select {columns} from {dim_clients} order by account_id").df()
            profiles = rules_segments.profile_and_segment(clients, rules, mart_as_of(con, marts))
            _write(con, "client_profiles", profiles)
        return MaterializeResult(
            metadata={
                **lineage_metadata(CLIENT_PROFILES, warehouse.path),
                "dagster/row_count": len(profiles),
                "with_growth_potential": int(profiles["growth_potential"].sum()),
                "size_tiers": MetadataValue.json(profiles["size_tier"].value_counts().to_dict()),
            }
        )

    @asset(
        key=CLIENT_SEGMENTS,
        metadata=table_metadata(CLIENT_SEGMENTS),
        deps=[marts.dim_clients, CLIENT_PROFILES, CLIENT_RISK, CROSS_SELL],
        group_name=SCHEMA,
        owners=[OWNER],
        kinds={"python", "duckdb"},
        description=(
            "The published per-client table: one row per client of the night's base with its "
            f"segment ({' / '.join(SEGMENTS)}) and the reason in words and figures, "
            "service model, ABC class, revenue fields, tiers, and retention risk (risk_score, "
            "risk_level, risk_flags, revenue_at_risk), and its cross-sell white space "
            "(top_cross_sell_family, white_space_families). Staged in the warehouse; published "
            "only after the blocking quality gate passes."
        ),
    )
    def client_segments(
        context: AssetExecutionContext, settings: PipelineSettings, warehouse: Warehouse
    ) -> MaterializeResult:
        rules = settings.rules()
        with warehouse.connect() as con:
            as_of = mart_as_of(con, marts)
            # Revenue fields come straight from the mart (exact decimals), not via pandas.
            con.execute(
                f"""create or replace table {SCHEMA}.client_segments as
                    select d.account_id, d.account_name, d.as_of, p.segment, p.segment_reason,
                           p.service_model, d.abc_class, d.revenue_t12m, d.revenue_prev_t12m,
                           d.growth, d.revenue_share, d.revenue_rank, d.active_months_24m,
                           p.growth_potential, p.size_tier, p.corporate_tier, d.industry,
                           d.region, d.owner, r.risk_score::integer as risk_score, r.risk_level,
                           -- Text, not a LIST: every BI tool reads it (retention_risks
                           -- has one row per flag for filtering).
                           array_to_string(r.risk_flags, ', ') as risk_flags,
                           (case when r.risk_level = '{RiskLevel.HIGH}'
                                 then d.revenue_t12m else 0 end)
                               ::decimal(18, 2) as revenue_at_risk,
                           w.top_cross_sell_family,
                           coalesce(w.white_space_families, 0)::integer as white_space_families,
                           ?::varchar as run_id, ?::varchar as config_version
                    from {dim_clients} as d
                    join {SCHEMA}.client_profiles as p using (account_id)
                    join {relation(CLIENT_RISK)} as r using (account_id)
                    left join (
                        select account_id,
                               any_value(product_family) filter (where rank_for_client = 1)
                                   as top_cross_sell_family,
                               count(*) as white_space_families
                        from {relation(CROSS_SELL)} group by account_id
                    ) as w using (account_id)
                    order by d.account_id""",
                [context.run_id, rules.version],
            )
            summary = con.sql(
                f"""select segment, count(*) as clients, sum(revenue_t12m)::double as revenue,
                           sum(revenue_at_risk)::double as at_risk
                    from {SCHEMA}.client_segments group by segment"""
            ).df()
        summary = summary.set_index("segment").reindex(list(SEGMENTS)).fillna(0)
        table = "| segment | clients | revenue_t12m | revenue at risk |\n|---|---:|---:|---:|\n" + (
            "\n".join(
                f"| {name} | {int(row.clients)} | {row.revenue:,.0f} | {row.at_risk:,.0f} |"
                for name, row in summary.iterrows()
            )
        )
        context.log.info(f"client segments for as_of {as_of}:\n{table}")
        return MaterializeResult(
            metadata={
                **lineage_metadata(CLIENT_SEGMENTS, warehouse.path),
                "as_of": str(as_of),
                "config_version": rules.version,
                "dagster/row_count": int(summary["clients"].sum()),
                "segments": MetadataValue.md(table),
            }
        )

    @asset(
        key=SEGMENT_MIX,
        metadata=table_metadata(SEGMENT_MIX),
        deps=[CLIENT_SEGMENTS, marts.portfolio_concentration],
        group_name=SCHEMA,
        owners=[OWNER],
        kinds={"python", "pandas", "duckdb"},
        description=(
            "One row per segment: actual vs healthy share of clients (docs/segments.md), revenue, "
            "revenue at risk (docs/retention.md) and the warning signals (too much ballast, too "
            "many VIPs, top-5 share above 50%). The metadata shows the mix as a table and "
            "charts: the mix, the revenue concentration (Pareto) and revenue at risk."
        ),
    )
    def segment_mix(
        context: AssetExecutionContext, settings: PipelineSettings, warehouse: Warehouse
    ) -> MaterializeResult:
        rules = settings.rules()
        with warehouse.connect() as con:
            segments = con.sql(
                f"select segment, revenue_t12m::double as revenue_t12m, "
                f"revenue_at_risk::double as revenue_at_risk, as_of, run_id "
                f"from {SCHEMA}.client_segments"
            ).df()
            top5_share = fetch_one(con, f"select top5_share from {portfolio}")[0]
            mix = rules_segments.segment_mix(segments, rules, top5_share)
            mix.insert(0, "as_of", mart_as_of(con, marts))
            mix["run_id"] = segments["run_id"].iat[0] if len(segments) else context.run_id
            mix["config_version"] = rules.version
            _write(con, "segment_mix", mix)
        for signal in mix["signal"][mix["signal"] != ""]:
            context.log.warning(f"segment mix: {signal}")
        table = (
            "| segment | clients | share | healthy | status | revenue at risk |\n"
            "|---|---:|---:|---|---|---:|\n"
            + "\n".join(
                f"| {r.segment} | {r.clients} | {r.client_share:.1%} | "
                f"{r.healthy_min_share:.0%}-{r.healthy_max_share:.0%} | {r.mix_status} | "
                f"{r.revenue_at_risk:,.0f} |"
                for r in mix.itertuples()
            )
        )
        return MaterializeResult(
            metadata={
                **lineage_metadata(SEGMENT_MIX, warehouse.path),
                "segment_mix": MetadataValue.md(table),
                "segment_mix_chart": MetadataValue.md(segment_mix_chart_markdown(mix)),
                "revenue_concentration": MetadataValue.md(
                    pareto_chart_markdown(
                        segments["revenue_t12m"], rules.abc.a_share, rules.abc.b_share
                    )
                ),
                "revenue_at_risk_by_segment": MetadataValue.md(revenue_at_risk_chart_markdown(mix)),
                # Read by people: a percentage and whole money, not 0.053775493650352696.
                "revenue_at_risk": f"{mix['revenue_at_risk'].sum():,.0f}",
                "top5_share": f"{top5_share:.1%}",
            }
        )

    @asset(
        key=SEGMENT_TRANSITIONS,
        metadata=table_metadata(SEGMENT_TRANSITIONS),
        deps=[CLIENT_SEGMENTS],
        group_name=SCHEMA,
        owners=[OWNER],
        kinds={"duckdb"},
        description=(
            "Migration between the previous published night and tonight: one row per "
            "(from_segment, to_segment) with the clients and their revenue_t12m then and now. "
            "'none' means not in that night's client base (new or gone). Empty on the first "
            "published night."
        ),
    )
    def segment_transitions(
        context: AssetExecutionContext, settings: PipelineSettings, warehouse: Warehouse
    ) -> MaterializeResult:
        rules = settings.rules()
        with warehouse.connect() as con:
            ensure_history_tables(con)
            as_of, run_id = fetch_one(
                con, f"select any_value(as_of), any_value(run_id) from {SCHEMA}.client_segments"
            )
            con.execute(
                f"create or replace table {SCHEMA}.segment_transitions as {TRANSITIONS_SQL}",
                {"as_of": as_of, "run_id": run_id, "config_version": rules.version},
            )
            transitions = con.sql(f"select * from {SCHEMA}.segment_transitions").df()
        if transitions.empty:
            context.log.info(f"no published night before {as_of}: no transitions yet")
            return MaterializeResult(
                metadata={
                    **lineage_metadata(SEGMENT_TRANSITIONS, warehouse.path),
                    "previous_as_of": "none",
                    "dagster/row_count": 0,
                }
            )
        moved = transitions[transitions["from_segment"] != transitions["to_segment"]]
        table = (
            "| from | to | clients | revenue then | revenue now |\n|---|---|---:|---:|---:|\n"
            + (
                "\n".join(
                    f"| {r.from_segment} | {r.to_segment} | {r.clients} | "
                    f"{float(r.revenue_t12m_previous):,.0f} | "
                    f"{float(r.revenue_t12m_current):,.0f} |"
                    for r in moved.itertuples()
                )
            )
        )
        return MaterializeResult(
            metadata={
                **lineage_metadata(SEGMENT_TRANSITIONS, warehouse.path),
                "previous_as_of": str(transitions["previous_as_of"].iat[0].date()),
                "clients_moved": int(moved["clients"].sum()),
                "transitions": MetadataValue.md(table),
                "dagster/row_count": len(transitions),
            }
        )

    return [client_profiles, client_segments, segment_mix, segment_transitions]
