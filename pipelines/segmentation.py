"""Python assets over the marts: client profiles (tiers, growth potential), client
segments and the segment mix. Thin wiring around the pure rules in `assets/`.

Results are written to the warehouse schema `segmentation`: a staging area that the
quality gate audits before anything is published.
"""

import duckdb
import pandas as pd
from dagster import AssetExecutionContext, AssetKey, MaterializeResult, MetadataValue, asset

from assets import segments as rules_segments
from assets.config import SEGMENTS
from pipelines.db import fetch_one
from pipelines.resources import PipelineSettings, Warehouse
from pipelines.settings import OWNER

SCHEMA = "segmentation"
DIM_CLIENTS = AssetKey(["marts", "dim_clients"])
PORTFOLIO = AssetKey(["marts", "portfolio_concentration"])
CLIENT_PROFILES = AssetKey([SCHEMA, "client_profiles"])
CLIENT_SEGMENTS = AssetKey([SCHEMA, "client_segments"])
SEGMENT_MIX = AssetKey([SCHEMA, "segment_mix"])

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
    "run_id",
    "config_version",
]


def read_dim_clients(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    return con.sql("select * from marts.dim_clients order by account_id").df()


def mart_as_of(con: duckdb.DuckDBPyConnection):
    """The as_of the marts were built for: Python assets follow it, never recompute it."""
    return fetch_one(con, "select as_of from marts.portfolio_concentration")[0]


def _write(con: duckdb.DuckDBPyConnection, table: str, frame: pd.DataFrame) -> None:
    con.execute(f"create schema if not exists {SCHEMA}")
    con.register("_frame", frame)
    con.execute(f"create or replace table {SCHEMA}.{table} as select * from _frame")
    con.unregister("_frame")


@asset(
    key=CLIENT_PROFILES,
    deps=[DIM_CLIENTS],
    group_name=SCHEMA,
    owners=[OWNER],
    kinds={"python", "pandas", "duckdb"},
    description=(
        "One row per client of the night's base: size_tier (employees, else annual revenue "
        "bands), corporate_tier (top100 / key_1..3 / mass by revenue_rank) and growth "
        "potential with the criteria that fired (DOMAIN 4 and 6)."
    ),
)
def client_profiles(settings: PipelineSettings, warehouse: Warehouse) -> MaterializeResult:
    rules = settings.rules()
    with warehouse.connect() as con:
        profiles = rules_segments.profile_clients(read_dim_clients(con), rules)
        _write(con, "client_profiles", profiles)
    return MaterializeResult(
        metadata={
            "dagster/row_count": len(profiles),
            "with_growth_potential": int(profiles["growth_potential"].sum()),
            "size_tiers": MetadataValue.json(profiles["size_tier"].value_counts().to_dict()),
        }
    )


@asset(
    key=CLIENT_SEGMENTS,
    deps=[DIM_CLIENTS, CLIENT_PROFILES],
    group_name=SCHEMA,
    owners=[OWNER],
    kinds={"python", "pandas", "duckdb"},
    description=(
        "One row per client of the night's base with its segment (vip / strategic / "
        "typical / ballast, DOMAIN 5, first matching rule wins), the reason in words and "
        "figures, service model, ABC class, revenue fields and tiers. Staged in the "
        "warehouse; published only after the blocking quality gate passes."
    ),
)
def client_segments(
    context: AssetExecutionContext, settings: PipelineSettings, warehouse: Warehouse
) -> MaterializeResult:
    rules = settings.rules()
    with warehouse.connect() as con:
        as_of = mart_as_of(con)
        clients = read_dim_clients(con)
        profiles = con.sql(f"select * from {SCHEMA}.client_profiles").df()
        segments = rules_segments.segment_clients(clients, profiles, rules, as_of)
        con.register("_segments", segments)
        # Revenue fields come straight from the mart (exact decimals), not via pandas.
        con.execute(
            f"""create or replace table {SCHEMA}.client_segments as
                select d.account_id, d.account_name, d.as_of, s.segment, s.segment_reason,
                       s.service_model, d.abc_class, d.revenue_t12m, d.revenue_prev_t12m,
                       d.growth, d.revenue_share, d.revenue_rank, d.active_months_24m,
                       p.growth_potential, p.size_tier, p.corporate_tier, d.industry,
                       d.region, d.owner, ?::varchar as run_id,
                       ?::varchar as config_version
                from marts.dim_clients as d
                join _segments as s using (account_id)
                join {SCHEMA}.client_profiles as p using (account_id)
                order by d.account_id""",
            [context.run_id, rules.version],
        )
        con.unregister("_segments")
        summary = con.sql(
            f"""select segment, count(*) as clients, sum(revenue_t12m)::double as revenue
                from {SCHEMA}.client_segments group by segment"""
        ).df()
    summary = summary.set_index("segment").reindex(list(SEGMENTS)).fillna(0)
    table = "| segment | clients | revenue_t12m |\n|---|---:|---:|\n" + "\n".join(
        f"| {name} | {int(row.clients)} | {row.revenue:,.0f} |" for name, row in summary.iterrows()
    )
    context.log.info(f"client segments for as_of {as_of}:\n{table}")
    return MaterializeResult(
        metadata={
            "as_of": str(as_of),
            "config_version": rules.version,
            "dagster/row_count": int(summary["clients"].sum()),
            "segments": MetadataValue.md(table),
        }
    )


@asset(
    key=SEGMENT_MIX,
    deps=[CLIENT_SEGMENTS, PORTFOLIO],
    group_name=SCHEMA,
    owners=[OWNER],
    kinds={"python", "pandas", "duckdb"},
    description=(
        "One row per segment: actual vs healthy share of clients (DOMAIN 5), revenue, and "
        "the warning signals (too much ballast, too many VIPs, top-5 share above 50%)."
    ),
)
def segment_mix(
    context: AssetExecutionContext, settings: PipelineSettings, warehouse: Warehouse
) -> MaterializeResult:
    rules = settings.rules()
    with warehouse.connect() as con:
        segments = con.sql(
            f"select segment, revenue_t12m::double as revenue_t12m, as_of, run_id "
            f"from {SCHEMA}.client_segments"
        ).df()
        top5_share = fetch_one(con, "select top5_share from marts.portfolio_concentration")[0]
        mix = rules_segments.segment_mix(segments, rules, top5_share)
        mix.insert(0, "as_of", mart_as_of(con))
        mix["run_id"] = segments["run_id"].iat[0] if len(segments) else context.run_id
        mix["config_version"] = rules.version
        _write(con, "segment_mix", mix)
    for signal in mix["signal"][mix["signal"] != ""]:
        context.log.warning(f"segment mix: {signal}")
    table = (
        "| segment | clients | share | healthy | status |\n|---|---:|---:|---|---|\n"
        + "\n".join(
            f"| {r.segment} | {r.clients} | {r.client_share:.1%} | "
            f"{r.healthy_min_share:.0%}-{r.healthy_max_share:.0%} | {r.mix_status} |"
            for r in mix.itertuples()
        )
    )
    return MaterializeResult(
        metadata={"segment_mix": MetadataValue.md(table), "top5_share": float(top5_share)}
    )
