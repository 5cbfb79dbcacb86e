"""Cross-sell white space (docs/cross_sell.md) as pure functions over DataFrames.

Per client of the night's base: the product families that fit it (cross_sell.families
in the rules config) and that it does not buy (no net revenue > 0 on the family in the
window of revenue.window_months), ordered by how many clients of its peer group (same
industry and size tier) already buy them. Nothing here does I/O or knows Dagster.
"""

from __future__ import annotations

import pandas as pd

from assets.config import CrossSellRules, FitTarget

ACCOUNT_ID = "account_id"
INDUSTRY = "industry"
SIZE_TIER = "size_tier"
BRANCH_COUNT = "branch_count"
PRODUCT_FAMILY = "product_family"
REVENUE_T12M = "revenue_t12m"
IS_BOUGHT = "is_bought"
PEER_GROUP = "peer_group"
UNKNOWN_INDUSTRY = "unknown"

CROSS_SELL_COLUMNS = [
    ACCOUNT_ID,
    PRODUCT_FAMILY,
    "rank_for_client",
    "adoption_share_in_peer_group",
    "peer_group_adopters",
    "peer_group_clients",
    PEER_GROUP,
    INDUSTRY,
    SIZE_TIER,
    "peer_group_family_revenue",
    "reason",
]


def peer_groups(clients: pd.DataFrame) -> pd.DataFrame:
    """account_id, industry (lower-cased, `unknown` when empty), size_tier and the peer
    group they make ("trade / smb")."""
    industry = clients[INDUSTRY].astype("string").str.strip().str.lower()
    industry = industry.mask(industry.isna() | (industry == ""), UNKNOWN_INDUSTRY)
    out = pd.DataFrame(
        {
            ACCOUNT_ID: clients[ACCOUNT_ID].to_numpy(),
            INDUSTRY: industry.astype(str).to_numpy(),
            SIZE_TIER: clients[SIZE_TIER].astype(str).to_numpy(),
        }
    )
    out[PEER_GROUP] = out[INDUSTRY] + " / " + out[SIZE_TIER]
    return out


def _matches(clients: pd.DataFrame, target: FitTarget) -> pd.Series:
    mask = pd.Series(True, index=clients.index)
    if target.industries:
        mask &= clients[INDUSTRY].isin(target.industries)
    if target.size_tiers:
        mask &= clients[SIZE_TIER].isin(target.size_tiers)
    if target.with_branches:
        mask &= clients[BRANCH_COUNT].fillna(0).astype(int) > 0
    return mask


def fitting_families(
    clients: pd.DataFrame, families: list[str], rules: CrossSellRules
) -> pd.DataFrame:
    """One row per client and catalogue family that fits it: account_id,
    product_family and fit (the first matching target, in words).

    `clients`: account_id, industry, size_tier, branch_count (industry lower-cased, as
    `peer_groups` gives it)."""
    parts = []
    for family in families:
        fit = pd.Series("", index=clients.index)
        for target in rules.targets_for(family):
            fit = fit.mask((fit == "") & _matches(clients, target), target.words())
        chosen = fit != ""
        parts.append(
            pd.DataFrame(
                {
                    ACCOUNT_ID: clients.loc[chosen, ACCOUNT_ID].to_numpy(),
                    PRODUCT_FAMILY: family,
                    "fit": fit[chosen].to_numpy(),
                }
            )
        )
    if not parts:
        return pd.DataFrame({ACCOUNT_ID: [], PRODUCT_FAMILY: [], "fit": []}, dtype=object)
    return pd.concat(parts, ignore_index=True)


def white_space(
    clients: pd.DataFrame,
    family_revenue: pd.DataFrame,
    families: list[str],
    rules: CrossSellRules,
) -> pd.DataFrame:
    """The cross_sell rows (CROSS_SELL_COLUMNS), one per client of the base and fitting
    family it does not buy, ranked per client by adoption share in its peer group, then
    by the family's revenue in the peer group, then by family name.

    `clients`: one row per client of the base with account_id, industry, size_tier and
    branch_count. `family_revenue`: account_id, product_family, revenue_t12m (a float:
    it only orders), is_bought (fct_client_product_families). `families`: the
    catalogue's families."""
    peers = peer_groups(clients).assign(
        **{BRANCH_COUNT: clients[BRANCH_COUNT].fillna(0).to_numpy()}
    )
    group_clients = peers.groupby(PEER_GROUP).size().rename("peer_group_clients")
    bought = family_revenue.merge(peers[[ACCOUNT_ID, PEER_GROUP]], on=ACCOUNT_ID, how="inner")
    adoption = bought.groupby([PEER_GROUP, PRODUCT_FAMILY]).agg(
        peer_group_adopters=(IS_BOUGHT, "sum"),
        peer_group_family_revenue=(REVENUE_T12M, "sum"),
    )
    candidates = fitting_families(peers, families, rules).merge(
        peers[[ACCOUNT_ID, PEER_GROUP, INDUSTRY, SIZE_TIER]], on=ACCOUNT_ID, how="inner"
    )
    owned = bought.loc[bought[IS_BOUGHT].astype(bool), [ACCOUNT_ID, PRODUCT_FAMILY]]
    candidates = candidates.merge(
        owned.assign(_owned=True), on=[ACCOUNT_ID, PRODUCT_FAMILY], how="left"
    )
    rows = candidates[candidates["_owned"].isna()].drop(columns="_owned")
    rows = rows.join(group_clients, on=PEER_GROUP).join(adoption, on=[PEER_GROUP, PRODUCT_FAMILY])
    rows["peer_group_adopters"] = rows["peer_group_adopters"].fillna(0).astype("int64")
    rows["peer_group_clients"] = rows["peer_group_clients"].astype("int64")
    rows["peer_group_family_revenue"] = rows["peer_group_family_revenue"].fillna(0.0)
    rows["adoption_share_in_peer_group"] = rows["peer_group_adopters"] / rows["peer_group_clients"]
    rows = rows.sort_values(
        [ACCOUNT_ID, "adoption_share_in_peer_group", "peer_group_family_revenue", PRODUCT_FAMILY],
        ascending=[True, False, False, True],
        kind="stable",
    )
    rows["rank_for_client"] = rows.groupby(ACCOUNT_ID).cumcount().astype("int64") + 1
    rows["reason"] = _reasons(rows)
    return rows[CROSS_SELL_COLUMNS].reset_index(drop=True)


def _reasons(rows: pd.DataFrame) -> pd.Series:
    """ "34% of trade / smb clients (12 of 35) buy cloud_telephony;
    fits size tier soho or smb"."""
    share = (rows["adoption_share_in_peer_group"] * 100).round().astype("int64").astype(str)
    return (
        share
        + "% of "
        + rows[PEER_GROUP]
        + " clients ("
        + rows["peer_group_adopters"].astype(str)
        + " of "
        + rows["peer_group_clients"].astype(str)
        + ") buy "
        + rows[PRODUCT_FAMILY].astype(str)
        + "; fits "
        + rows["fit"]
    )
