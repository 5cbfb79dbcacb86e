"""Cross-sell white-space asset (docs/cross_sell.md): per client of the
night's base, the fitting product families it does not buy, ranked by adoption in its
peer group. Thin wiring around `assets/cross_sell.py`."""

import pandas as pd
import pyarrow as pa  # type: ignore[import-untyped]  # no stubs shipped
from dagster import (
    AssetExecutionContext,
    AssetsDefinition,
    MaterializeResult,
    MetadataValue,
    asset,
)

from assets import cross_sell as rules_cross_sell
from assets.vocabulary import Export
from pipelines.catalog import lineage_metadata, table_metadata
from pipelines.marts.models import Marts, relation
from pipelines.resources import PipelineSettings, Warehouse
from pipelines.rules.charts import white_space_matrix_markdown
from pipelines.rules.segmentation import CLIENT_PROFILES, CROSS_SELL, absent_sources, mart_as_of
from pipelines.settings import OWNER

SCHEMA = CROSS_SELL.path[0]
CROSS_SELL_COLUMNS = [
    *rules_cross_sell.CROSS_SELL_COLUMNS,
    "as_of",
    "run_id",
    "config_version",
]
# How many names a log line lists before it says "and N more".
LISTED = 10


def _listed(names: list[str]) -> str:
    more = f" and {len(names) - LISTED} more" if len(names) > LISTED else ""
    return ", ".join(names[:LISTED]) + more


def build_cross_sell_assets(marts: Marts) -> list[AssetsDefinition]:
    """cross_sell over the client profiles and the product-family marts."""

    @asset(
        key=CROSS_SELL,
        metadata=table_metadata(CROSS_SELL),
        deps=[
            CLIENT_PROFILES,
            marts.dim_clients,
            marts.client_product_families,
            marts.product_families,
            marts.products_without_family,
        ],
        group_name=SCHEMA,
        owners=[OWNER],
        kinds={"python", "pandas", "duckdb"},
        description=(
            "Cross-sell white space (docs/cross_sell.md): one row per client of the night's "
            "base and product family that fits it (cross_sell.families in the rules config: "
            "industries, size tiers, companies with branches) and that it does not buy (no "
            "net revenue > 0 on the family in the window), with the adoption share in its "
            "peer group (same industry and size tier), the peer counts, rank_for_client "
            "(share, then the family's revenue in the peer group) and the reason in words."
        ),
    )
    def cross_sell(
        context: AssetExecutionContext, settings: PipelineSettings, warehouse: Warehouse
    ) -> MaterializeResult:
        rules = settings.rules()
        with warehouse.connect() as con:
            clients = con.sql(
                f"""select d.account_id, d.industry, p.size_tier, d.branch_count
                    from {relation(marts.dim_clients)} as d
                    join {relation(CLIENT_PROFILES)} as p using (account_id)
                    order by d.account_id"""
            ).df()
            family_revenue = con.sql(
                f"""select account_id, product_family, revenue_t12m::double as revenue_t12m,
                           is_bought
                    from {relation(marts.client_product_families)}"""
            ).df()
            families = [
                row[0]
                for row in con.execute(
                    f"select product_family from {relation(marts.product_families)} order by 1"
                ).fetchall()
            ]
            unmapped = con.sql(
                f"""select product_code, reason, lines_t12m, revenue_t12m::double as revenue
                    from {relation(marts.products_without_family)}
                    order by revenue_t12m desc, product_code"""
            ).df()
            as_of = mart_as_of(con, marts)
            if Export.PRODUCTS.value in absent_sources(con):
                context.log.warning(
                    "cross-sell: products.csv was not in tonight's exports, so there is no "
                    "product family to offer: cross_sell is empty"
                )
            _report_families(context, rules.cross_sell, families, unmapped)
            rows = rules_cross_sell.white_space(clients, family_revenue, families, rules.cross_sell)
            con.execute(f"create schema if not exists {SCHEMA}")
            # As an Arrow table: DuckDB scans it a third faster than the DataFrame. The
            # columns every row shares come in as parameters rather than a million
            # copies in `rows`.
            con.register("_rows", pa.Table.from_pandas(rows, preserve_index=False))
            con.execute(
                f"""create or replace table {SCHEMA}.cross_sell as
                    select account_id, product_family, rank_for_client::integer as rank_for_client,
                           adoption_share_in_peer_group::double as adoption_share_in_peer_group,
                           peer_group_adopters::integer as peer_group_adopters,
                           peer_group_clients::integer as peer_group_clients, peer_group,
                           industry, size_tier,
                           peer_group_family_revenue::decimal(18, 2) as peer_group_family_revenue,
                           reason, $as_of::date as as_of, $run_id as run_id,
                           $config_version as config_version
                    from _rows order by account_id, rank_for_client""",
                {"as_of": as_of, "run_id": context.run_id, "config_version": rules.version},
            )
            con.unregister("_rows")
        by_family = (
            rows.groupby("product_family")
            .agg(clients=("account_id", "size"), share=("adoption_share_in_peer_group", "mean"))
            .sort_values(["clients", "share"], ascending=[False, False])
        )
        table = "| family | clients with white space | mean peer adoption |\n|---|---:|---:|\n" + (
            "\n".join(
                f"| {family} | {int(r.clients):,} | {r.share:.0%} |"
                for family, r in by_family.head(10).iterrows()
            )
        )
        with_white_space = rows["account_id"].nunique()
        context.log.info(
            f"cross-sell: {len(rows):,} white-space rows for "
            f"{with_white_space:,} of {len(clients):,} clients\n{table}"
        )
        return MaterializeResult(
            metadata={
                **lineage_metadata(CROSS_SELL, warehouse.path),
                "dagster/row_count": len(rows),
                "clients_with_white_space": int(with_white_space),
                "families_offered": len(by_family),
                "products_without_family": len(unmapped),
                "top_white_space_families": MetadataValue.md(table),
                "white_space_matrix": MetadataValue.md(
                    white_space_matrix_markdown(_adoption_matrix(clients, family_revenue))
                ),
            }
        )

    return [cross_sell]


def _report_families(context, rules, families: list[str], unmapped: pd.DataFrame) -> None:
    """Say once what cross-sell cannot or will not attribute: products without a family,
    catalogue families the config does not list, listed families nobody sells."""
    if len(unmapped):
        codes = [f"{r.product_code} ({r.reason})" for r in unmapped.itertuples()]
        context.log.warning(
            f"cross-sell: {len(unmapped)} product(s) billed in the window map onto no family, "
            f"so their {unmapped['revenue'].sum():,.2f} of revenue counts for no family: "
            f"{_listed(codes)}. Give them a family in the products export."
        )
    unlisted = [f for f in families if not rules.is_listed(f)]
    if unlisted:
        what = (
            "offered to every client"
            if rules.unlisted_families == "every_client"
            else "not offered (cross_sell.unlisted_families: skip)"
        )
        context.log.info(
            f"cross-sell: families not in cross_sell.families, {what}: {_listed(unlisted)}"
        )
    sold = {f.strip().casefold() for f in families}
    absent = [f for f in rules.families if f.strip().casefold() not in sold]
    if absent:
        context.log.info(
            f"cross-sell: listed families not in tonight's products export: {_listed(absent)}"
        )


def _adoption_matrix(clients: pd.DataFrame, family_revenue: pd.DataFrame) -> pd.DataFrame:
    """Share of each peer group's clients buying each family: peer groups (the 12 with
    the most clients) as rows, families as columns."""
    peers = rules_cross_sell.peer_groups(clients)
    top = peers["peer_group"].value_counts().head(12)
    bought = family_revenue[family_revenue["is_bought"].astype(bool)]
    client = rules_cross_sell.positions(bought["account_id"], peers["account_id"])
    in_base = client >= 0
    pairs = pd.DataFrame(
        {
            "peer_group": peers["peer_group"].array.take(client[in_base]),
            "product_family": bought["product_family"].array[in_base],
        }
    )
    adopters = pairs.groupby(["peer_group", "product_family"]).size().unstack(fill_value=0)
    return adopters.reindex(index=top.index, fill_value=0).div(top, axis=0).fillna(0.0)
