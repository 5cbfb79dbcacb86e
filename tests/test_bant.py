"""docs/leads.md on hand-built leads: target filter, each BANT component at its
boundaries, overrides, unknowns, and the ranking with its tie-breaks."""

import datetime as dt

import pandas as pd
import pytest

from assets.bant import LEAD_RANKING_COLUMNS, budget_points, rank_leads, readiness, time_points
from assets.config import load_rules

RULES = load_rules().leads
AS_OF = dt.date(2026, 10, 31)


def lead(lead_id: str, **changes) -> dict:
    """A lead inside the profile scoring 5 x 5 x 5 x 5 unless changed."""
    row = {
        "lead_id": lead_id,
        "company_name": f"Company {lead_id}",
        "industry": "trade",
        "employees": 50,
        "annual_revenue": 100_000_000.0,
        "region": "Moscow",
        "lead_source": "inbound_request",
        "budget_reporting": 1000.00,
        "expected_deal_value": 1000.00,
        "need": "confirmed",
        "decision_date": pd.Timestamp("2026-11-15"),
        "contact_role": "decision_maker",
        "contact_title": None,
        "product_code": "CLOUD-PBX",
        "product_family": "cloud telephony",
        "bant_budget_override": None,
        "bant_authority_override": None,
        "bant_need_override": None,
        "bant_time_override": None,
    }
    row.update(changes)
    return row


def ranked(*rows) -> pd.DataFrame:
    return rank_leads(pd.DataFrame(rows), AS_OF, RULES).set_index("lead_id")


@pytest.mark.parametrize(
    ("budget", "points"),
    [
        (1000.00, 5),
        (999.99, 4),
        (750.00, 4),
        (749.99, 3),
        (500.00, 3),
        (250.00, 2),
        (249.99, 1),
        (0.00, 1),
    ],
)
def test_budget_points_at_each_ratio_boundary(budget, points):
    assert budget_points(budget, 1000.00, RULES) == points


def test_budget_is_unknown_without_a_budget_or_an_expected_deal_value():
    assert budget_points(None, 1000.00, RULES) is None
    assert budget_points(1000.00, None, RULES) is None


@pytest.mark.parametrize(
    ("days", "points"),
    [(0, 5), (30, 5), (31, 4), (90, 4), (91, 3), (180, 3), (181, 2), (365, 2), (366, 1), (-1, 1)],
)
def test_time_points_by_days_to_the_decision(days, points):
    assert time_points(pd.Timestamp(AS_OF) + pd.Timedelta(days=days), AS_OF, RULES) == points


def test_readiness_by_source():
    assert readiness("web_form", RULES) == "hot"
    assert readiness("referral", RULES) == "warm"
    assert readiness("cold_list", RULES) == "cold"
    assert readiness(None, RULES) == "cold"


def test_score_is_the_product_and_unknowns_are_named():
    out = ranked(
        lead(
            "L1",
            budget_reporting=600.00,
            contact_role="influencer",
            need="researching",
            decision_date=pd.Timestamp("2027-03-01"),
        ),
        lead(
            "L2",
            budget_reporting=None,
            contact_role=None,
            contact_title=None,
            need="unknown",
            decision_date=None,
        ),
    )
    l1 = out.loc["L1"]
    assert (l1.bant_budget, l1.bant_authority, l1.bant_need, l1.bant_time) == (3, 3, 2, 3)
    assert l1.bant_score == 54 and l1.bant_unknowns == []
    assert l1.bant_reason.endswith("= 54")
    l2 = out.loc["L2"]
    assert l2.bant_score == 1
    assert l2.bant_unknowns == ["budget", "authority", "need", "time"]
    assert pd.isna(l2.buyer_class)


def test_a_managers_override_wins_and_is_not_an_unknown():
    out = ranked(lead("L1", budget_reporting=None, bant_budget_override=4, bant_time_override=2))
    row = out.loc["L1"]
    assert (row.bant_budget, row.bant_time) == (4, 2)
    assert row.bant_unknowns == []
    assert "manager's override" in row.bant_reason


def test_authority_from_the_title_when_the_crm_has_no_role():
    row = ranked(lead("L1", contact_role=None, contact_title="Начальник производства")).loc["L1"]
    assert row.bant_authority == 4 and row.buyer_class == "technical"
    assert "title" in row.bant_reason


def test_ranking_order_with_ties_broken_by_deal_value_then_date_then_id():
    out = ranked(
        lead("L5", need="interested"),  # 500
        lead("L4"),  # 625, edv 1000, 2026-11-15
        lead("L3", expected_deal_value=2000.00, budget_reporting=2000.00),  # 625, bigger deal
        lead("L2", decision_date=pd.Timestamp("2026-11-10")),  # 625, edv 1000, earlier date
        lead("L1"),  # 625, same as L4: the lower id first
        lead("L0", industry="agriculture"),  # outside the profile
    )
    assert out.loc[["L3", "L2", "L1", "L4", "L5"], "bant_rank"].tolist() == [1, 2, 3, 4, 5]
    assert pd.isna(out.loc["L0", "bant_rank"])
    assert "industry agriculture" in out.loc["L0", "excluded_reason"]
    assert out.loc["L0", "next_action"].startswith("none")


def test_target_profile_bounds_and_unknown_values():
    out = ranked(
        lead("L1", employees=4),  # below min_employees 5
        lead("L2", employees=5),
        lead("L3", employees=None, industry=None),  # unknown: kept, not excluded
    )
    assert "employees 4 below the minimum 5" in out.loc["L1", "excluded_reason"]
    assert pd.isna(out.loc["L2", "excluded_reason"])
    assert pd.isna(out.loc["L3", "excluded_reason"])


def test_route_and_next_action():
    out = ranked(
        lead("L1", employees=101, lead_source="cold_list"),
        lead("L2", employees=100, lead_source="event"),
        lead("L3", employees=20, product_family=None, product_code=None),
    )
    assert out.loc["L1", "route"] == "key-account desk"
    assert out.loc["L2", "route"] == "product desk: cloud telephony"
    assert out.loc["L3", "route"] == "product desk: general"
    assert out.loc["L1", "readiness"] == "cold"
    assert out.loc["L1", "next_action"] == RULES.next_actions["cold"]
    assert out.loc["L2", "next_action"] == RULES.next_actions["warm"]
    assert out.loc["L3", "next_action"] == RULES.next_actions["hot"]


def test_reason_words_of_derived_components():
    row = ranked(lead("L1", budget_reporting=1234.5, expected_deal_value=1234.5)).loc["L1"]
    assert row.bant_reason == (
        "B5 (budget 1.00x the expected deal 1,234.50) x A5 (decision_maker from CRM role)"
        " x N5 (need confirmed) x T5 (decision in 15 days) = 625"
    )


def test_overrides_unknowns_and_derived_values_mixed_in_one_frame():
    out = ranked(
        lead("L1", budget_reporting=None, bant_budget_override=4),
        lead("L2", budget_reporting=None, need=None, decision_date=pd.Timestamp("2026-10-01")),
        lead(
            "L3",
            contact_role=None,
            contact_title="Chief Financial Officer",
            bant_authority_override=2,
            bant_time_override=3,
        ),
        lead("L4", contact_role=None, contact_title="Стажёр", expected_deal_value=0.0),
    )
    assert out.loc["L1"].bant_reason == (
        "B4 (manager's override) x A5 (decision_maker from CRM role) x N5 (need confirmed)"
        " x T5 (decision in 15 days) = 500"
    )
    assert out.loc["L1"].bant_unknowns == []
    assert out.loc["L2"].bant_reason == (
        "B1 (budget unknown) x A5 (decision_maker from CRM role) x N1 (need unknown)"
        " x T1 (decision date 30 days past) = 5"
    )
    assert out.loc["L2"].bant_unknowns == ["budget", "need"]
    assert out.loc["L3"].bant_reason == (
        "B5 (budget 1.00x the expected deal 1,000.00) x A2 (manager's override)"
        " x N5 (need confirmed) x T3 (manager's override) = 150"
    )
    assert out.loc["L3"].buyer_class == "economic"
    # A title that says nothing and a deal value that is not positive: both unknown.
    assert out.loc["L4"].bant_unknowns == ["budget", "authority"]
    assert pd.isna(out.loc["L4"].buyer_class)
    assert out["bant_rank"].tolist() == [1, 2, 3, 4]


def test_every_reason_for_an_exclusion_is_given():
    profile = RULES.target_profile.model_copy(update={"max_annual_revenue": 1_000_000})
    rules = RULES.model_copy(update={"target_profile": profile})
    out = rank_leads(
        pd.DataFrame([lead("L1", industry="agriculture", employees=4, annual_revenue=1234567.5)]),
        AS_OF,
        rules,
    )
    assert out.loc[0, "excluded_reason"] == (
        "industry agriculture is not in the target profile; employees 4 below the minimum 5; "
        "annual_revenue 1,234,568 above the maximum 1,000,000"
    )


def test_no_leads_rank_to_an_empty_table():
    out = rank_leads(pd.DataFrame([lead("L1")]).iloc[:0], AS_OF, RULES)
    assert out.empty and list(out.columns) == LEAD_RANKING_COLUMNS
