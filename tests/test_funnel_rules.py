"""The sales funnel and cycle (docs/funnel.md) on hand-built deals: groups,
win rates, won amounts, median cycles and stage-to-stage conversion of
`assets/funnel.py`. Which deals closed in the window is fct_deals' rule, tested by its
dbt unit tests (dbt_project/models/marts/_marts__models.yml)."""

import math

import numpy as np
import pandas as pd

from assets.funnel import (
    FUNNEL_STAGES,
    SALES_FUNNEL_COLUMNS,
    SALES_FUNNEL_STAGES_COLUMNS,
    deal_groups,
    funnel_stages,
    sales_funnel,
    sub_segment,
)


def closed(*rows):
    """(deal_id, is_won, amount_reporting, cycle_days, size_tier, segment) rows."""
    frame = pd.DataFrame(
        rows,
        columns=["deal_id", "is_won", "amount_reporting", "cycle_days", "size_tier", "segment"],
    )
    frame = frame.astype({"amount_reporting": float, "cycle_days": float})
    return deal_groups(
        frame.drop(columns=["size_tier", "segment"]), frame["size_tier"], frame["segment"]
    )


def events(**paths):
    """deal_id -> its stages, as fct_deal_stage_events rows."""
    return pd.DataFrame(
        [(deal, stage) for deal, stages in paths.items() for stage in stages],
        columns=["deal_id", "stage"],
    )


def row(frame, dimension, group, **where):
    picked = frame[(frame["dimension"] == dimension) & (frame["group_value"] == group)]
    for column, value in where.items():
        picked = picked[picked[column] == value]
    assert len(picked) == 1, picked
    return picked.iloc[0]


def test_sub_segments_split_the_size_tiers():
    tiers = pd.Series(["soho", "smb", "umm", "enterprise", "unknown"])
    assert list(sub_segment(tiers)) == ["lower", "lower", "upper", "upper", "unknown"]


def test_win_rate_won_amount_and_groups_in_every_dimension():
    deals = closed(
        ("d1", True, 100.0, 10, "smb", "vip"),
        ("d2", False, 40.0, 20, "smb", None),
        ("d3", True, 50.0, 30, "umm", "typical"),
        ("d4", False, 70.0, 40, "unknown", None),
    )
    funnel = sales_funnel(deals)
    assert list(funnel.columns) == SALES_FUNNEL_COLUMNS
    smb = row(funnel, "size_tier", "smb")
    assert (smb.deals_closed, smb.deals_won, smb.win_rate, smb.won_amount) == (2, 1, 0.5, 100.0)
    lower = row(funnel, "sub_segment", "lower")
    assert (lower.deals_closed, lower.deals_won) == (2, 1)
    # Outside the client base the segment is none.
    assert row(funnel, "segment", "none").deals_closed == 2
    everything = row(funnel, "all", "all")
    assert (everything.deals_closed, everything.deals_won, everything.won_amount) == (4, 2, 150.0)
    # Every dimension splits the same deals.
    assert set(funnel.groupby("dimension")["deals_closed"].sum()) == {4}


def test_median_cycle_of_an_even_count_is_the_mean_of_the_two_middle_values():
    deals = closed(
        *[(f"d{i}", False, 1.0, days, "smb", None) for i, days in enumerate([5, 9, 30, 100])]
    )
    assert row(sales_funnel(deals), "all", "all").median_cycle_days == 19.5  # (9 + 30) / 2


def test_a_deal_without_both_dates_counts_as_closed_but_has_no_cycle():
    deals = closed(("d1", True, 10.0, np.nan, "smb", None), ("d2", False, 10.0, 7, "smb", None))
    everything = row(sales_funnel(deals), "all", "all")
    assert (everything.deals_closed, everything.deals_with_cycle) == (2, 1)
    assert everything.median_cycle_days == 7
    alone = row(sales_funnel(closed(("d1", True, 10.0, np.nan, "smb", None))), "all", "all")
    assert alone.deals_with_cycle == 0 and math.isnan(alone.median_cycle_days)


def test_a_won_deal_without_an_amount_adds_nothing_to_won_amount():
    deals = closed(("d1", True, np.nan, 3, "smb", None), ("d2", True, 25.5, 3, "smb", None))
    assert row(sales_funnel(deals), "all", "all").won_amount == 25.5


def test_a_skipped_stage_was_passed_on_the_way():
    deals = closed(("won", True, 1.0, 1, "smb", None), ("lost", False, 1.0, 1, "smb", None))
    paths = events(
        won=["first_contact", "negotiation", "won"],  # skipped four stages
        lost=["first_contact", "needs_analysis", "presentation", "lost"],
    )
    stages = funnel_stages(deals, paths)
    assert list(stages.columns) == SALES_FUNNEL_STAGES_COLUMNS
    everything = stages[stages["dimension"] == "all"].set_index("stage")
    assert list(everything.index) == list(FUNNEL_STAGES)
    assert list(everything["deals_reached"]) == [2, 2, 2, 1, 1, 1, 1]
    assert everything.loc["presentation", "conversion_to_next"] == 0.5
    assert everything.loc["objections", "conversion_to_next"] == 1.0
    assert math.isnan(everything.loc["won", "conversion_to_next"])


def test_a_deal_whose_events_show_only_its_outcome_has_no_path_to_count():
    deals = closed(("seen", False, 1.0, 1, "umm", None), ("unseen", True, 1.0, 1, "umm", None))
    stages = funnel_stages(deals, events(seen=["objections", "lost"], unseen=["won"]))
    first = row(stages, "sub_segment", "upper", stage="first_contact")
    assert first.deals_reached == 1
    assert row(stages, "sub_segment", "upper", stage="won").deals_reached == 0


def test_a_group_that_loses_every_deal_early_has_no_conversion_after_it():
    deals = closed(("d1", False, 1.0, 1, "soho", None))
    stages = funnel_stages(deals, events(d1=["first_contact", "lost"]))
    tier = stages[stages["dimension"] == "size_tier"].set_index("stage")
    assert tier.loc["first_contact", "conversion_to_next"] == 0
    assert tier.loc["needs_analysis", "deals_reached"] == 0
    assert math.isnan(tier.loc["needs_analysis", "conversion_to_next"])


def test_events_of_deals_not_closed_in_the_window_are_ignored():
    deals = closed(("d1", True, 1.0, 1, "smb", None))
    stages = funnel_stages(deals, events(d1=["contract", "won"], open=["first_contact"]))
    assert row(stages, "all", "all", stage="first_contact").deals_reached == 1


def test_no_closed_deal_gives_empty_tables_with_the_columns():
    none = closed()
    assert sales_funnel(none).empty and list(sales_funnel(none).columns) == SALES_FUNNEL_COLUMNS
    stages = funnel_stages(none, events())
    assert stages.empty and list(stages.columns) == SALES_FUNNEL_STAGES_COLUMNS
