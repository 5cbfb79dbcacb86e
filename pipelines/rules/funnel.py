"""Sales funnel assets (docs/funnel.md): win rate, won amount and sales cycle
per size tier, sub-segment and segment over the deals closed in the window, and the
stage-to-stage conversion where the stage events show each deal's path. Thin wiring
around `assets/funnel.py`."""

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

from assets import funnel as rules_funnel
from assets.config import RulesConfig
from assets.segments import size_tier
from assets.vocabulary import Export
from pipelines.catalog import lineage_metadata, table_metadata
from pipelines.db import fetch_one
from pipelines.marts.models import Marts, relation
from pipelines.resources import PipelineSettings, Warehouse
from pipelines.rules.charts import funnel_chart_markdown
from pipelines.rules.cross_sell import SCHEMA
from pipelines.rules.segmentation import CLIENT_PROFILES, absent_sources, mart_as_of
from pipelines.settings import OWNER

SALES_FUNNEL = AssetKey([SCHEMA, "sales_funnel"])
SALES_FUNNEL_STAGES = AssetKey([SCHEMA, "sales_funnel_stages"])
STAMPS = ["as_of", "run_id", "config_version"]
SALES_FUNNEL_COLUMNS = [*rules_funnel.SALES_FUNNEL_COLUMNS, *STAMPS]
SALES_FUNNEL_STAGES_COLUMNS = [*rules_funnel.SALES_FUNNEL_STAGES_COLUMNS, *STAMPS]


def closed_deals(con: duckdb.DuckDBPyConnection, marts: Marts, rules: RulesConfig) -> pd.DataFrame:
    """The deals closed in the window with their group in every dimension."""
    deals = con.sql(
        f"""select d.deal_id, d.is_won, d.amount_reporting::double as amount_reporting,
                   d.cycle_days::double as cycle_days, d.account_employees,
                   d.account_annual_revenue::double as account_annual_revenue, p.segment
            from {relation(marts.deals)} as d
            left join {relation(CLIENT_PROFILES)} as p using (account_id)
            where d.is_closed_in_window
            order by d.deal_id"""
    ).df()
    tiers = size_tier(deals["account_employees"], deals["account_annual_revenue"], rules.size_tiers)
    return rules_funnel.deal_groups(deals, tiers, deals["segment"])


def _write(con: duckdb.DuckDBPyConnection, table: str, frame: pd.DataFrame, casts: str) -> None:
    con.execute(f"create schema if not exists {SCHEMA}")
    con.register("_frame", frame)
    con.execute(
        f"create or replace table {SCHEMA}.{table} as select {casts}, as_of::date as as_of, "
        "run_id, config_version from _frame"
    )
    con.unregister("_frame")


def _stamped(frame: pd.DataFrame, as_of, context: AssetExecutionContext, rules: RulesConfig):
    return frame.assign(as_of=as_of, run_id=context.run_id, config_version=rules.version)


def _sub_segment_table(funnel: pd.DataFrame) -> str:
    rows = funnel[funnel["dimension"] == rules_funnel.Dimension.SUB_SEGMENT]
    return (
        "| sub-segment | closed | won | win rate | median cycle (days) |\n"
        + "|---|---:|---:|---:|---:|\n"
        + (
            "\n".join(
                f"| {r.group_value} | {r.deals_closed:,} | {r.deals_won:,} | {r.win_rate:.0%} | "
                + ("-" if pd.isna(r.median_cycle_days) else f"{r.median_cycle_days:g}")
                + " |"
                for r in rows.itertuples()
            )
        )
    )


def build_funnel_assets(marts: Marts) -> list[AssetsDefinition]:
    """sales_funnel and sales_funnel_stages over the deals marts and the night's profiles."""

    @asset(
        key=SALES_FUNNEL,
        metadata=table_metadata(SALES_FUNNEL),
        deps=[marts.deals, CLIENT_PROFILES],
        group_name=SCHEMA,
        owners=[OWNER],
        kinds={"python", "pandas", "duckdb"},
        description=(
            "The sales funnel's outcome (docs/funnel.md): over the deals closed (won or lost) "
            "in the window ending at as_of, one row per dimension (size_tier of the deal's "
            "account, sub_segment lower / upper / unknown, the account's segment tonight or "
            "none, and all) and group: deals_closed, deals_won, win_rate, won_amount in the "
            "reporting currency and median_cycle_days (created to closed)."
        ),
    )
    def sales_funnel(
        context: AssetExecutionContext, settings: PipelineSettings, warehouse: Warehouse
    ) -> MaterializeResult:
        rules = settings.rules()
        with warehouse.connect() as con:
            if Export.DEALS.value in absent_sources(con):
                context.log.warning(
                    "sales funnel: deals.csv was not in tonight's exports; the funnel is empty"
                )
            closed = closed_deals(con, marts, rules)
            undated = fetch_one(
                con,
                f"select count(*) from {relation(marts.deals)} "
                "where is_closed and closed_date is null",
            )[0]
            funnel = rules_funnel.sales_funnel(closed)
            _write(
                con,
                "sales_funnel",
                _stamped(funnel, mart_as_of(con, marts), context, rules),
                """dimension, group_value, deals_closed::integer as deals_closed,
                   deals_won::integer as deals_won, win_rate::double as win_rate,
                   won_amount::decimal(18, 2) as won_amount,
                   deals_with_cycle::integer as deals_with_cycle,
                   median_cycle_days::double as median_cycle_days""",
            )
        if undated:
            context.log.warning(
                f"sales funnel: {undated} closed deal(s) have no close date and are in no "
                "window (docs/revenue.md): not counted"
            )
        table = _sub_segment_table(funnel)
        context.log.info(f"sales funnel: {len(closed):,} deals closed in the window\n{table}")
        return MaterializeResult(
            metadata={
                **lineage_metadata(SALES_FUNNEL, warehouse.path),
                "dagster/row_count": len(funnel),
                "deals_closed": len(closed),
                "closed_deals_without_close_date": int(undated),
                "by_sub_segment": MetadataValue.md(table),
            }
        )

    @asset(
        key=SALES_FUNNEL_STAGES,
        metadata=table_metadata(SALES_FUNNEL_STAGES),
        deps=[marts.deals, marts.deal_stage_events, CLIENT_PROFILES],
        group_name=SCHEMA,
        owners=[OWNER],
        kinds={"python", "pandas", "duckdb"},
        description=(
            "Stage-to-stage conversion (docs/funnel.md): over the deals closed in the window "
            "whose stage events (the deal_stage_history export, else the nightly CRM history "
            "of deals) show a path, per dimension, group and stage first_contact .. contract, "
            "won: deals_reached (a deal reached every stage up to the furthest it was seen "
            "in; won when won) and conversion_to_next."
        ),
    )
    def sales_funnel_stages(
        context: AssetExecutionContext, settings: PipelineSettings, warehouse: Warehouse
    ) -> MaterializeResult:
        rules = settings.rules()
        with warehouse.connect() as con:
            closed = closed_deals(con, marts, rules)
            # Only the events of the deals closed in the window count: DuckDB drops the
            # rest (most of them) before pandas sees them.
            events = con.sql(
                f"""select e.deal_id, e.stage from {relation(marts.deal_stage_events)} as e
                    semi join {relation(marts.deals)} as d
                        on d.deal_id = e.deal_id and d.is_closed_in_window"""
            ).df()
            stages = rules_funnel.funnel_stages(closed, events)
            _write(
                con,
                "sales_funnel_stages",
                _stamped(stages, mart_as_of(con, marts), context, rules),
                """dimension, group_value, stage, stage_order::integer as stage_order,
                   deals_reached::integer as deals_reached,
                   conversion_to_next::double as conversion_to_next""",
            )
            exported = Export.DEAL_STAGE_HISTORY.value not in absent_sources(con)
        with_path = int(
            stages.loc[
                (stages["dimension"] == "all") & (stages["stage_order"] == 0), "deals_reached"
            ].sum()
        )
        evidence = (
            "the deal_stage_history export"
            if exported
            else "the nightly CRM history of deals (no deal_stage_history export tonight)"
        )
        context.log.info(
            f"sales funnel stages: {with_path:,} of {len(closed):,} closed deals show a path, "
            f"from {evidence}"
        )
        sub_segments = stages[stages["dimension"] == rules_funnel.Dimension.SUB_SEGMENT]
        return MaterializeResult(
            metadata={
                **lineage_metadata(SALES_FUNNEL_STAGES, warehouse.path),
                "dagster/row_count": len(stages),
                "deals_with_path": with_path,
                "deals_closed": len(closed),
                "evidence": evidence,
                "funnel_by_sub_segment": MetadataValue.md(
                    funnel_chart_markdown(sub_segments)
                    if len(sub_segments)
                    else "no closed deal shows its path yet"
                ),
            }
        )

    return [sales_funnel, sales_funnel_stages]
