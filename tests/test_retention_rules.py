"""docs/retention.md flags on hand-built clients: each flag fires on a client built to fire it
and stays silent on the near miss one step across its threshold."""

import datetime as dt

import pandas as pd
import pytest

from assets.config import load_rules
from assets.retention import evaluate_flags, skipped_flags, summarize_client_risk

RULES = load_rules().retention
AS_OF = dt.date(2026, 10, 31)


def quiet(**changes) -> dict:
    """A client that fires no flag: steady revenue, paying on time, in touch, happy."""
    row = {
        "account_id": "C1",
        "as_of": AS_OF,
        "is_in_crm": True,
        "revenue_t12m": 1200.00,
        "revenue_prev_t12m": 1200.00,
        "growth": 0.0,
        "revenue_recent_months": 300.00,
        "revenue_recent_months_prior_year": 300.00,
        "active_months_before_recent": 12,
        "overdue_30_amount": 0.00,
        "avg_days_late": 3.0,
        "products_t12m": 2,
        "products_prev_t12m": 2,
        "next_non_renewing_contract_id": None,
        "next_non_renewing_end_date": pd.NaT,
        "open_deals": 0,
        "latest_nps": 9,
        "latest_nps_date": pd.Timestamp("2026-09-01"),
        "latest_csat": 5,
        "latest_csat_date": pd.Timestamp("2026-09-01"),
        "latest_complaint_date": pd.NaT,
        "last_activity_date": pd.Timestamp("2026-10-20"),
        "active_decision_makers": 1,
        "parent_account_id": "G1",
        "previous_snapshot_as_of": pd.Timestamp("2026-10-30"),
        "was_in_previous_snapshot": True,
        "previous_parent_account_id": "G1",
    }
    row.update(changes)
    return row


def fired(*rows, segment="typical", skip=frozenset()) -> dict[str, set[str]]:
    signals = pd.DataFrame(rows)
    segments = pd.Series(segment, index=signals["account_id"])
    flags = evaluate_flags(signals, segments, RULES, AS_OF, skip=set(skip))
    return {a: set(flags.loc[flags["account_id"] == a, "flag"]) for a in signals["account_id"]}


def one(row, **kwargs) -> set[str]:
    return fired(row, **kwargs)["C1"]


def test_the_quiet_client_fires_nothing():
    assert one(quiet()) == set()


@pytest.mark.parametrize(
    ("flag", "fires", "near_miss"),
    [
        # recent months exactly 70% of a year earlier fires; 70.01% does not
        (
            "revenue_decline",
            {"revenue_recent_months": 210.00},
            {"revenue_recent_months": 210.03},
        ),
        # growth exactly -20% fires; -19.99% does not
        (
            "revenue_decline",
            {"revenue_t12m": 960.00, "growth": -0.2},
            {"revenue_t12m": 960.12, "growth": -0.1999},
        ),
        # 6 active months before the last 3 and nothing since fires; 5 does not
        (
            "lapsed",
            {
                "active_months_before_recent": 6,
                "revenue_recent_months": 0.00,
                "revenue_recent_months_prior_year": 0.00,
            },
            {
                "active_months_before_recent": 5,
                "revenue_recent_months": 0.00,
                "revenue_recent_months_prior_year": 0.00,
            },
        ),
        # a kopeck overdue by more than 30 days fires; none does not
        ("payment_delay", {"overdue_30_amount": 0.01}, {"overdue_30_amount": 0.00}),
        # 15.1 days late on average fires; exactly 15 does not (> 15)
        ("payment_delay", {"avg_days_late": 15.1}, {"avg_days_late": 15.0}),
        # a non-renewing contract ending in exactly 90 days fires; in 91 does not
        (
            "contract_expiring",
            {
                "next_non_renewing_contract_id": "K1",
                "next_non_renewing_end_date": pd.Timestamp("2027-01-29"),
            },
            {
                "next_non_renewing_contract_id": "K1",
                "next_non_renewing_end_date": pd.Timestamp("2027-01-30"),
            },
        ),
        # ... and not when somebody is working on a deal with the client
        (
            "contract_expiring",
            {
                "next_non_renewing_contract_id": "K1",
                "next_non_renewing_end_date": pd.Timestamp("2026-11-15"),
            },
            {
                "next_non_renewing_contract_id": "K1",
                "next_non_renewing_end_date": pd.Timestamp("2026-11-15"),
                "open_deals": 1,
            },
        ),
        # one product fewer than the year before fires; as many does not
        ("product_contraction", {"products_t12m": 1}, {"products_t12m": 2}),
        ("low_satisfaction", {"latest_nps": 6}, {"latest_nps": 7}),
        ("low_satisfaction", {"latest_csat": 2}, {"latest_csat": 3}),
        # a complaint 89 days ago is within the last 90 days; 90 days ago is not
        (
            "low_satisfaction",
            {"latest_complaint_date": pd.Timestamp("2026-08-03")},
            {"latest_complaint_date": pd.Timestamp("2026-08-02")},
        ),
        ("decision_maker_lost", {"active_decision_makers": 0}, {"active_decision_makers": 1}),
        (
            "ownership_change",
            {"parent_account_id": "G2"},
            {"parent_account_id": "G1"},
        ),
        # a parent appearing where there was none is a change too
        (
            "ownership_change",
            {"previous_parent_account_id": None, "parent_account_id": "G9"},
            {"previous_parent_account_id": None, "parent_account_id": None},
        ),
    ],
)
def test_each_flag_fires_at_its_threshold_and_not_one_step_short(flag, fires, near_miss):
    assert flag in one(quiet(**fires))
    assert flag not in one(quiet(**near_miss))


def test_no_contact_is_for_vip_and_strategic_clients_after_90_days_of_silence():
    silent = quiet(last_activity_date=pd.Timestamp("2026-08-02"))  # 90 days
    recent = quiet(last_activity_date=pd.Timestamp("2026-08-03"))  # 89 days
    never = quiet(last_activity_date=pd.NaT)
    assert "no_contact" in one(silent, segment="vip")
    assert "no_contact" in one(never, segment="strategic")
    assert "no_contact" not in one(recent, segment="vip")
    assert "no_contact" not in one(silent, segment="typical")


def test_ownership_change_needs_a_previous_snapshot():
    first_night = quiet(
        was_in_previous_snapshot=False, previous_parent_account_id=None, parent_account_id="G2"
    )
    assert "ownership_change" not in one(first_night)


def test_decision_maker_lost_is_not_raised_for_a_client_missing_from_the_crm():
    assert "decision_maker_lost" not in one(quiet(active_decision_makers=0, is_in_crm=False))


def test_evidence_states_the_figures_and_the_action_comes_from_the_config():
    signals = pd.DataFrame(
        [quiet(revenue_recent_months=120.00, overdue_30_amount=1234.5, parent_account_id="G2")]
    )
    flags = evaluate_flags(signals, pd.Series({"C1": "vip"}), RULES, AS_OF).set_index("flag")
    assert "120.00" in flags.loc["revenue_decline", "evidence"]
    assert "40%" in flags.loc["revenue_decline", "evidence"]
    assert "1,234.50" in flags.loc["payment_delay", "evidence"]
    assert "from G1 to G2" in flags.loc["ownership_change", "evidence"]
    for name, row in flags.iterrows():
        assert row["recommended_action"] == RULES.flags[name].action
        assert row["severity"] == RULES.flags[name].severity


def test_flags_of_absent_files_are_skipped_and_named():
    skipped = skipped_flags({"feedback", "activities"})
    assert set(skipped) == {"low_satisfaction", "no_contact"}
    assert "feedback.csv" in skipped["low_satisfaction"]
    row = quiet(latest_nps=0, last_activity_date=pd.NaT)
    assert one(row, segment="vip", skip=set(skipped)) == set()
    assert one(row, segment="vip") == {"low_satisfaction", "no_contact"}


@pytest.mark.parametrize(
    ("flags", "segment", "score", "level"),
    [
        ([], "vip", 0, "low"),
        (["decision_maker_lost"], "typical", 1, "low"),  # 1 < 2
        (["payment_delay"], "typical", 2, "medium"),  # 2 >= 2
        (["payment_delay", "product_contraction"], "typical", 4, "medium"),
        (["payment_delay", "product_contraction", "decision_maker_lost"], "typical", 5, "high"),
        (["revenue_decline"], "typical", 3, "medium"),  # a high flag alone on typical
        (["revenue_decline"], "strategic", 3, "high"),  # ... but on strategic: high
        (["ownership_change"], "vip", 3, "high"),
        (["decision_maker_lost"], "vip", 1, "low"),  # only high flags escalate
    ],
)
def test_risk_score_and_level(flags, segment, score, level):
    points = {"high": 3, "medium": 2, "low": 1}
    flag_rows = pd.DataFrame(
        {
            "account_id": ["C1"] * len(flags),
            "flag": flags,
            "severity": [RULES.flags[f].severity for f in flags],
            "severity_points": [points[RULES.flags[f].severity] for f in flags],
        }
    )
    clients = pd.DataFrame({"account_id": ["C1"], "segment": [segment], "revenue_t12m": [500.0]})
    summary = summarize_client_risk(flag_rows, clients, RULES).iloc[0]
    assert summary["risk_score"] == score
    assert summary["risk_level"] == level
    assert summary["risk_flags"] == flags
    assert summary["revenue_at_risk"] == (500.0 if level == "high" else 0.0)


def test_decision_maker_lost_is_skipped_when_no_contact_gives_a_role():
    """Salesforce and HubSpot contacts carry no role: without one the flag would fire on
    every client; it is skipped with the reason instead."""
    from assets.retention import skipped_flags

    assert skipped_flags(set(), {("contacts", "role")}) == {
        "decision_maker_lost": "no row of tonight's contacts export gives a role"
    }
    assert skipped_flags({"contacts"}, {("contacts", "role")}) == {
        "decision_maker_lost": "contacts.csv was not in tonight's exports"
    }
    assert skipped_flags(set(), set()) == {}
