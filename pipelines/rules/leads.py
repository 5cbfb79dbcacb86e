"""Lead-ranking asset (docs/leads.md): target filter, BANT, readiness and routing over the
lead inputs mart. Thin wiring around `assets/bant.py`."""

import pandas as pd
from dagster import (
    AssetExecutionContext,
    AssetKey,
    AssetsDefinition,
    MaterializeResult,
    MetadataValue,
    asset,
)

from assets import bant
from pipelines.catalog import lineage_metadata, table_metadata
from pipelines.marts.models import Marts, relation
from pipelines.resources import PipelineSettings, Warehouse
from pipelines.rules.segmentation import absent_sources, mart_as_of
from pipelines.settings import OWNER

SCHEMA = "leads"
LEAD_RANKINGS = AssetKey([SCHEMA, "lead_rankings"])
LEAD_RANKINGS_COLUMNS = [*bant.LEAD_RANKING_COLUMNS, "run_id", "config_version"]


def build_lead_assets(marts: Marts) -> list[AssetsDefinition]:
    """lead_rankings over the lead inputs mart."""

    @asset(
        key=LEAD_RANKINGS,
        metadata=table_metadata(LEAD_RANKINGS),
        deps=[marts.lead_inputs],
        group_name=SCHEMA,
        owners=[OWNER],
        kinds={"python", "pandas", "duckdb"},
        description=(
            "One row per lead: target-profile filter (excluded_reason), BANT components 1-5 "
            "(manager overrides honoured; roles inferred from Russian and English titles), "
            "bant_score = B x A x N x T with the unknown components listed and the reason in "
            "words, bant_rank over the leads in profile (ties: expected deal value, decision "
            "date, lead_id), readiness, buyer class, route and next action."
        ),
    )
    def lead_rankings(
        context: AssetExecutionContext, settings: PipelineSettings, warehouse: Warehouse
    ) -> MaterializeResult:
        rules = settings.rules()
        with warehouse.connect() as con:
            leads = con.sql(f"select * from {relation(marts.lead_inputs)} order by lead_id").df()
            for note in bant.missing_input_notes(absent_sources(con)).values():
                context.log.warning(f"lead rankings: {note}")
            ranked = bant.rank_leads(
                leads, pd.Timestamp(mart_as_of(con, marts)).date(), rules.leads
            )
            ranked["run_id"] = context.run_id
            ranked["config_version"] = rules.version
            con.execute(f"create schema if not exists {SCHEMA}")
            con.register("_ranked", ranked)
            con.execute(
                f"""create or replace table {SCHEMA}.lead_rankings as
                    select lead_id, as_of::date as as_of, company_name, excluded_reason,
                           bant_budget::integer as bant_budget,
                           bant_authority::integer as bant_authority,
                           bant_need::integer as bant_need, bant_time::integer as bant_time,
                           bant_score::integer as bant_score,
                           array_to_string(bant_unknowns::varchar[], ', ') as bant_unknowns,
                           bant_rank::integer as bant_rank, bant_reason, readiness, buyer_class,
                           route, next_action,
                           expected_deal_value::decimal(18, 2) as expected_deal_value,
                           decision_date::date as decision_date, lead_source, run_id,
                           config_version
                    from _ranked order by bant_rank nulls last, lead_id"""
            )
            con.unregister("_ranked")
        top = ranked[ranked["bant_rank"].notna()].head(10)
        table = "| rank | lead | company | BANT | score | readiness | route |\n" + (
            "|---:|---|---|---|---:|---|---|\n"
            + "\n".join(
                f"| {int(r.bant_rank)} | {r.lead_id} | {r.company_name} | "
                f"{r.bant_budget}/{r.bant_authority}/{r.bant_need}/{r.bant_time} | "
                f"{r.bant_score} | {r.readiness} | {r.route} |"
                for r in top.itertuples()
            )
        )
        excluded = int(ranked["excluded_reason"].notna().sum())
        context.log.info(f"lead rankings: {len(ranked) - excluded} ranked, {excluded} excluded")
        return MaterializeResult(
            metadata={
                **lineage_metadata(LEAD_RANKINGS, warehouse.path),
                "dagster/row_count": len(ranked),
                "ranked": len(ranked) - excluded,
                "excluded": excluded,
                "top_10_leads": MetadataValue.md(table),
                "readiness": MetadataValue.json(
                    ranked.loc[ranked["bant_rank"].notna(), "readiness"].value_counts().to_dict()
                ),
            }
        )

    return [lead_rankings]
