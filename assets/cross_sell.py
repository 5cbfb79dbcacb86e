"""Cross-sell white space (docs/cross_sell.md) as pure functions over DataFrames.

Per client of the night's base: the product families that fit it (cross_sell.families
in the rules config) and that it does not buy (no net revenue > 0 on the family in the
window of revenue.window_months), ordered by how many clients of its peer group (same
industry and size tier) already buy them. Nothing here does I/O or knows Dagster.

Everything a row says but its client (adoption, revenue, rank order, reason) belongs to
its peer group and family, and there are only a few hundred of those. So the work is
done on integer codes: a clients x families grid says which pairs are white space, a
peer groups x families grid holds the adoption, and text is built once per distinct
reason, then taken per row, instead of merging and formatting per row.
"""

from __future__ import annotations

import numpy as np
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
# In a grid of fit codes: the family does not fit the client.
NO_FIT = -1

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
    # A base has a handful of distinct industry spellings: clean those, then take them
    # per client, rather than running string methods over every client.
    codes, spellings = pd.factorize(clients[INDUSTRY], use_na_sentinel=False)
    industry = pd.Series(spellings).astype("string").str.strip().str.lower()
    industry = industry.mask(industry.isna() | (industry == ""), UNKNOWN_INDUSTRY)
    out = pd.DataFrame(
        {
            ACCOUNT_ID: clients[ACCOUNT_ID].array,
            INDUSTRY: industry.astype(str).array.take(codes),
            SIZE_TIER: clients[SIZE_TIER].astype(str).array,
        }
    )
    out[PEER_GROUP] = out[INDUSTRY] + " / " + out[SIZE_TIER]
    return out


def _matches(clients: pd.DataFrame, target: FitTarget) -> np.ndarray:
    mask = np.ones(len(clients), dtype=bool)
    if target.industries:
        mask &= clients[INDUSTRY].isin(target.industries).to_numpy()
    if target.size_tiers:
        mask &= clients[SIZE_TIER].isin(target.size_tiers).to_numpy()
    if target.with_branches:
        mask &= clients[BRANCH_COUNT].fillna(0).astype(int).to_numpy() > 0
    return mask


def fit_grid(
    clients: pd.DataFrame, families: list[str], rules: CrossSellRules
) -> tuple[np.ndarray, list[str]]:
    """Which family fits which client, and why: a clients x families grid of codes into
    the returned list of fits in words (the first matching target of the family), NO_FIT
    where none matches.

    `clients`: industry, size_tier, branch_count (industry lower-cased, as `peer_groups`
    gives it)."""
    grid = np.full((len(clients), len(families)), NO_FIT, dtype=np.int64)
    words: list[str] = []
    for column, family in enumerate(families):
        for target in rules.targets_for(family):
            unset = grid[:, column] == NO_FIT
            said = target.words()
            if said not in words:
                words.append(said)
            grid[unset & _matches(clients, target), column] = words.index(said)
    return grid, words


def white_space(
    clients: pd.DataFrame,
    family_revenue: pd.DataFrame,
    families: list[str],
    rules: CrossSellRules,
) -> pd.DataFrame:
    """The cross_sell rows (CROSS_SELL_COLUMNS), one per client of the base and fitting
    family it does not buy, ranked per client by adoption share in its peer group, then
    by the family's revenue in the peer group, then by family name; rows ordered by
    account_id and rank.

    `clients`: one row per client of the base with account_id, industry, size_tier and
    branch_count. `family_revenue`: account_id, product_family, revenue_t12m (a float:
    it only orders), is_bought (fct_client_product_families). `families`: the
    catalogue's families, each once."""
    peers = peer_groups(clients).assign(
        **{BRANCH_COUNT: clients[BRANCH_COUNT].fillna(0).to_numpy()}
    )
    group, group_names = pd.factorize(peers[PEER_GROUP])
    client, family, bought, revenue = _base_rows(peers, family_revenue, families)
    cells = _adoption(
        group, group_names, families, group[client] * len(families) + family, bought, revenue
    )
    fit, fit_words = _fits(peers, group, families, rules)
    owned = np.zeros(fit.shape, dtype=bool)
    owned[client[bought], family[bought]] = True
    # Each client's families in its peer group's rank order; its white space counted
    # along that order is its rank.
    ranked = _family_order(cells, len(group_names), families)[group]
    open_ = np.take_along_axis((fit != NO_FIT) & ~owned, ranked, axis=1)
    ranks = np.cumsum(open_, axis=1)
    by_account = peers[ACCOUNT_ID].argsort(kind="stable").to_numpy()
    at, slot = np.nonzero(open_[by_account])
    row_client = by_account[at]
    row_family = ranked[row_client, slot]
    row_cell = group[row_client] * len(families) + row_family
    rows = pd.concat(
        [
            pd.DataFrame(
                {
                    ACCOUNT_ID: peers[ACCOUNT_ID].array.take(row_client),
                    "rank_for_client": ranks[row_client, slot].astype("int64"),
                    INDUSTRY: peers[INDUSTRY].array.take(row_client),
                    SIZE_TIER: peers[SIZE_TIER].array.take(row_client),
                }
            ),
            cells.take(row_cell).reset_index(drop=True),
        ],
        axis=1,
    )
    rows["reason"] = _reasons(cells, row_cell, fit[row_client, row_family], fit_words)
    return rows[CROSS_SELL_COLUMNS]


def _fits(
    peers: pd.DataFrame, group: np.ndarray, families: list[str], rules: CrossSellRules
) -> tuple[np.ndarray, list[str]]:
    """`fit_grid` for every client, matched once per peer group with and without
    branches (all a target looks at) and taken per client."""
    has_branches = peers[BRANCH_COUNT].fillna(0).astype(int).to_numpy() > 0
    _, first, profile = np.unique(group * 2 + has_branches, return_index=True, return_inverse=True)
    grid, words = fit_grid(peers.iloc[first], families, rules)
    return grid[profile], words


def _base_rows(
    peers: pd.DataFrame, family_revenue: pd.DataFrame, families: list[str]
) -> tuple[np.ndarray, np.ndarray, np.ndarray, pd.Series]:
    """The family_revenue rows of a client of the base and a family of the catalogue (no
    other row counts anywhere), in their order: the client's position in `peers`, the
    family's in `families`, is_bought and revenue_t12m."""
    client = positions(family_revenue[ACCOUNT_ID], peers[ACCOUNT_ID])
    family = positions(family_revenue[PRODUCT_FAMILY], pd.Series(families, dtype="str"))
    kept = (client >= 0) & (family >= 0)
    return (
        client[kept],
        family[kept],
        family_revenue[IS_BOUGHT].astype(bool).to_numpy()[kept],
        family_revenue[REVENUE_T12M][kept],
    )


def positions(values: pd.Series, keys: pd.Series) -> np.ndarray:
    """The position of each value among the (distinct) keys, -1 when not there. One
    factorize over both: Index.get_indexer converts strings to Python objects first,
    ten times slower."""
    codes, distinct = pd.factorize(pd.concat([keys, values], ignore_index=True))
    position = np.full(len(distinct), -1)
    position[codes[: len(keys)]] = np.arange(len(keys))
    return position[codes[len(keys) :]]


def _adoption(
    group: np.ndarray,
    group_names: pd.Index,
    families: list[str],
    cell: np.ndarray,
    bought: np.ndarray,
    revenue: pd.Series,
) -> pd.DataFrame:
    """One row per peer group x family, row-major (the row a family_revenue row's `cell`
    names): peer_group, product_family, peer_group_clients, peer_group_adopters,
    peer_group_family_revenue and adoption_share_in_peer_group."""
    n_groups, n_families = len(group_names), len(families)
    group_clients = np.repeat(np.bincount(group, minlength=n_groups), n_families)
    adopters = np.bincount(cell[bought], minlength=n_groups * n_families)
    # A pandas group sum, not np.bincount: it adds compensated, and on equal shares the
    # revenue decides the rank, so it must not move in the last bit.
    sums = revenue.groupby(cell).sum()
    total = np.zeros(n_groups * n_families)
    total[sums.index.to_numpy()] = sums.to_numpy()
    return pd.DataFrame(
        {
            PEER_GROUP: pd.array(np.repeat(group_names.to_numpy(), n_families), dtype="str"),
            PRODUCT_FAMILY: pd.array(
                np.tile(np.array(families, dtype=object), n_groups), dtype="str"
            ),
            "peer_group_clients": group_clients.astype("int64"),
            "peer_group_adopters": adopters.astype("int64"),
            "peer_group_family_revenue": total,
            "adoption_share_in_peer_group": adopters / group_clients,
        }
    )


def _family_order(cells: pd.DataFrame, n_groups: int, families: list[str]) -> np.ndarray:
    """Per peer group (rows), the family positions in rank order: adoption share, then
    revenue, both highest first, then family name."""
    name_rank = np.argsort(np.argsort(np.array(families, dtype=object), kind="stable"))
    order = np.lexsort(
        (
            np.tile(name_rank, n_groups),
            -cells["peer_group_family_revenue"].to_numpy(),
            -cells["adoption_share_in_peer_group"].to_numpy(),
            np.repeat(np.arange(n_groups), len(families)),
        )
    )
    return (order % len(families)).reshape(n_groups, len(families))


def _reasons(
    cells: pd.DataFrame, row_cell: np.ndarray, row_fit: np.ndarray, fit_words: list[str]
) -> pd.Series:
    """ "34% of trade / smb clients (12 of 35) buy cloud_telephony;
    fits size tier soho or smb" per row: a reason depends only on the peer group x
    family cell and the fit, so each distinct one is written once, then taken."""
    codes, said = pd.factorize(row_cell * len(fit_words) + row_fit)
    cell = cells.take(said // len(fit_words))
    share = (cell["adoption_share_in_peer_group"] * 100).round().astype("int64")
    texts = [
        f"{pct}% of {group} clients ({adopters} of {members}) buy {family}; fits {fit_words[fit]}"
        for pct, group, adopters, members, family, fit in zip(
            share,
            cell[PEER_GROUP],
            cell["peer_group_adopters"],
            cell["peer_group_clients"],
            cell[PRODUCT_FAMILY],
            said % len(fit_words),
            strict=True,
        )
    ]
    return pd.Series(pd.array(texts, dtype="str").take(codes))
