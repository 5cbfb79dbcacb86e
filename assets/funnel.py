"""The sales funnel and cycle (docs/funnel.md) as pure functions over DataFrames.

Over the deals closed (won or lost) in the window of revenue.window_months ending at
as_of, per dimension: the deal's size tier (docs/tiers.md, from its account), sub-segment
(lower = soho / smb, upper = umm / enterprise) and the account's segment tonight
(`none` outside the client base), plus `all`. The stage table counts, per stage, the
deals that reached it: a deal reached every stage up to the furthest its stage events
show (a skipped stage was passed on the way), and `won` when it was won.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from assets.vocabulary import UPPER_SIZE_TIERS, DealStage, SizeTier

DEAL_ID = "deal_id"
# The funnel's stages in order; won is the last step, lost ends a path anywhere.
FUNNEL_STAGES = tuple(s.value for s in DealStage if s is not DealStage.LOST)
OPEN_STAGE_ORDER = {stage: i for i, stage in enumerate(FUNNEL_STAGES[:-1])}
ALL = "all"
NO_SEGMENT = "none"


class Dimension:
    SIZE_TIER = "size_tier"
    SUB_SEGMENT = "sub_segment"
    SEGMENT = "segment"
    ALL = ALL


DIMENSIONS = (Dimension.SIZE_TIER, Dimension.SUB_SEGMENT, Dimension.SEGMENT, Dimension.ALL)

SALES_FUNNEL_COLUMNS = [
    "dimension",
    "group_value",
    "deals_closed",
    "deals_won",
    "win_rate",
    "won_amount",
    "deals_with_cycle",
    "median_cycle_days",
]
SALES_FUNNEL_STAGES_COLUMNS = [
    "dimension",
    "group_value",
    "stage",
    "stage_order",
    "deals_reached",
    "conversion_to_next",
]


def sub_segment(size_tier: pd.Series) -> pd.Series:
    """lower (soho, smb), upper (umm, enterprise) or unknown (docs/tiers.md)."""
    return pd.Series(
        np.select(
            [
                size_tier.isin(UPPER_SIZE_TIERS),
                size_tier.isin((SizeTier.SOHO.value, SizeTier.SMB.value)),
            ],
            ["upper", "lower"],
            default=SizeTier.UNKNOWN.value,
        ),
        index=size_tier.index,
    )


def deal_groups(deals: pd.DataFrame, size_tier: pd.Series, segment: pd.Series) -> pd.DataFrame:
    """`deals` with its group in every dimension. `size_tier`: per deal (docs/tiers.md on its
    account); `segment`: the account's segment tonight per deal, NaN outside the base."""
    out = deals.copy()
    out[Dimension.SIZE_TIER] = size_tier.to_numpy()
    out[Dimension.SUB_SEGMENT] = sub_segment(out[Dimension.SIZE_TIER]).to_numpy()
    out[Dimension.SEGMENT] = segment.fillna(NO_SEGMENT).to_numpy()
    out[Dimension.ALL] = ALL
    return out


def _long(deals: pd.DataFrame) -> pd.DataFrame:
    """One row per deal and dimension: dimension, group_value and the deal's columns."""
    return pd.concat(
        [deals.assign(dimension=d, group_value=deals[d].astype(str)) for d in DIMENSIONS],
        ignore_index=True,
    )


def sales_funnel(closed: pd.DataFrame) -> pd.DataFrame:
    """SALES_FUNNEL_COLUMNS per dimension and group over `closed`: the deals closed in
    the window, with is_won, amount_reporting (float, NaN when unknown), cycle_days
    (NaN without both dates) and their groups (`deal_groups`). win_rate = won / closed;
    won_amount sums the won deals' known amounts; median_cycle_days over the deals with
    a cycle (the mean of the two middle values for an even count)."""
    long = _long(closed)
    long["won_amount"] = long["amount_reporting"].where(long["is_won"].astype(bool), 0.0)
    grouped = long.groupby(["dimension", "group_value"], sort=False)
    out = grouped.agg(
        deals_closed=(DEAL_ID, "size"),
        deals_won=("is_won", "sum"),
        won_amount=("won_amount", "sum"),
        deals_with_cycle=("cycle_days", "count"),
        median_cycle_days=("cycle_days", "median"),
    ).reset_index()
    out["deals_won"] = out["deals_won"].astype("int64")
    out["deals_closed"] = out["deals_closed"].astype("int64")
    out["win_rate"] = out["deals_won"] / out["deals_closed"]
    out["won_amount"] = out["won_amount"].round(2)
    return _ordered(out)[SALES_FUNNEL_COLUMNS]


def furthest_stage(events: pd.DataFrame) -> pd.Series:
    """Per deal_id, the order (OPEN_STAGE_ORDER) of the furthest open stage its events
    show; deals whose events show only won or lost have none (no path to count)."""
    # A stage's position among the open stages is its OPEN_STAGE_ORDER; won, lost and
    # anything else are -1. (Series.map over Arrow strings costs several times more.)
    order = pd.Series(
        pd.Index(list(OPEN_STAGE_ORDER)).get_indexer(events["stage"]),
        index=events.index,
        dtype="int64",
    )
    furthest = order.groupby(events[DEAL_ID]).max()
    return furthest[furthest >= 0]


def funnel_stages(closed: pd.DataFrame, events: pd.DataFrame) -> pd.DataFrame:
    """SALES_FUNNEL_STAGES_COLUMNS per dimension, group and stage over the deals of
    `closed` whose `events` (deal_id, stage) show a path: deals_reached counts the deals
    that reached the stage (any later open stage shown, or won), conversion_to_next =
    deals reaching the next stage / deals reaching this one (null for won)."""
    # Index lookups, not Series.isin: isin on Arrow strings walks the values in Python.
    of_closed = pd.Index(closed[DEAL_ID].unique()).get_indexer(events[DEAL_ID]) >= 0
    reached_order = closed[DEAL_ID].map(furthest_stage(events[of_closed]))
    has_path = reached_order.notna()
    with_path = closed[has_path].copy()
    won_order = len(FUNNEL_STAGES) - 1
    with_path["reached"] = np.where(
        with_path["is_won"].astype(bool), won_order, reached_order[has_path].astype("int64")
    )
    out = pd.concat([_reached_per_stage(with_path, d) for d in DIMENSIONS], ignore_index=True)
    following = out.groupby(["dimension", "group_value"])["deals_reached"].shift(-1)
    out["conversion_to_next"] = (following / out["deals_reached"]).where(out["deals_reached"] > 0)
    return _ordered(out)[SALES_FUNNEL_STAGES_COLUMNS]


def _reached_per_stage(deals: pd.DataFrame, dimension: str) -> pd.DataFrame:
    """dimension, group_value, stage, stage_order and deals_reached for every group of
    `dimension` and every stage: the deals whose furthest stage (`reached`) is at or
    after it. Counted per group and furthest stage, then summed from the last stage
    back, rather than pairing every deal with every stage."""
    furthest = pd.crosstab(deals[dimension].astype(str), deals["reached"]).reindex(
        columns=range(len(FUNNEL_STAGES)), fill_value=0
    )
    reached = furthest.iloc[:, ::-1].cumsum(axis=1).iloc[:, ::-1]
    groups = np.repeat(reached.index.to_numpy(dtype=object), len(FUNNEL_STAGES))
    return pd.DataFrame(
        {
            "dimension": dimension,
            "group_value": pd.Series(groups, dtype="str"),
            "stage": np.tile(FUNNEL_STAGES, len(reached)),
            "stage_order": np.tile(np.arange(len(FUNNEL_STAGES), dtype="int64"), len(reached)),
            "deals_reached": reached.to_numpy(dtype="int64").ravel(),
        }
    )


def _ordered(frame: pd.DataFrame) -> pd.DataFrame:
    dimension_order = frame["dimension"].map({d: i for i, d in enumerate(DIMENSIONS)})
    keys = ["_dimension", "group_value", *(["stage_order"] if "stage_order" in frame else [])]
    return (
        frame.assign(_dimension=dimension_order)
        .sort_values(keys, kind="stable")
        .drop(columns="_dimension")
        .reset_index(drop=True)
    )
