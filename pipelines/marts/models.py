"""The dbt models the Python steps read. Their keys come from the dbt assets
(`get_asset_key_for_model`), so a renamed or missing model fails when the definitions
are built, naming it, instead of in the night's first query."""

from dataclasses import dataclass, fields

from dagster import AssetKey, AssetsDefinition
from dagster_dbt import get_asset_key_for_model


@dataclass(frozen=True)
class Marts:
    """The asset key of each model a Python step reads; the field's value is the
    model's name until `from_dbt_assets` resolves it."""

    dim_clients: AssetKey
    retention_signals: AssetKey
    lead_inputs: AssetKey
    revenue_monthly: AssetKey
    portfolio_concentration: AssetKey
    source_loads: AssetKey
    client_product_families: AssetKey
    product_families: AssetKey
    products_without_family: AssetKey
    deals: AssetKey
    deal_stage_events: AssetKey

    @classmethod
    def from_dbt_assets(cls, dbt_assets: AssetsDefinition) -> "Marts":
        return cls(
            **{f.name: get_asset_key_for_model([dbt_assets], MODELS[f.name]) for f in fields(cls)}
        )


MODELS = {
    "dim_clients": "dim_clients",
    "retention_signals": "fct_client_retention_signals",
    "lead_inputs": "fct_lead_inputs",
    "revenue_monthly": "fct_client_revenue_monthly",
    "portfolio_concentration": "fct_portfolio_concentration",
    "source_loads": "fct_source_loads",
    "client_product_families": "fct_client_product_families",
    "product_families": "dim_product_families",
    "products_without_family": "fct_products_without_family",
    "deals": "fct_deals",
    "deal_stage_events": "fct_deal_stage_events",
}


def relation(key: AssetKey) -> str:
    """The warehouse table of an asset: every key is [schema, table] (the dbt translator
    keys each model by [folder, model], and the folder is its schema)."""
    return ".".join(key.path)
