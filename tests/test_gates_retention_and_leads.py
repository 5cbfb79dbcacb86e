"""The retention_risks and lead_rankings suites pass on consistent tables and fail on
each kind of inconsistency they exist to catch."""

import pandas as pd

from assets.config import load_rules
from expectations.lead_rankings import validate_lead_rankings
from expectations.retention_risks import validate_retention_risks

RULES = load_rules().retention


def flags() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "account_id": ["C1", "C1", "C2"],
            "flag": ["revenue_decline", "payment_delay", "decision_maker_lost"],
            "severity": ["high", "medium", "low"],
            "severity_points": [3, 2, 1],
            "evidence": ["revenue fell", "overdue 10.00", "no decision maker"],
            "recommended_action": ["discount", "manager", "train"],
        }
    )


def client_risk() -> pd.DataFrame:
    # C1: 5 points -> high; C2: 1 point -> low; C3: no flag -> low;
    # C4: a high flag (3) on a vip -> high although 3 < 5.
    return pd.DataFrame(
        {
            "account_id": ["C1", "C2", "C3", "C4"],
            "risk_score": [5, 1, 0, 3],
            "risk_level": ["high", "low", "low", "high"],
            "flag_points": [5, 1, 0, 3],
            "escalated": [True, False, False, True],
        }
    )


def retention_failures(f=None, r=None) -> set[str]:
    outcome = validate_retention_risks(
        flags() if f is None else f, client_risk() if r is None else r, RULES
    )
    return {x.split(" ")[0] for x in outcome.failures}


def test_consistent_retention_tables_pass():
    assert retention_failures() == set()


def test_an_unknown_flag_or_a_wrong_severity_fails():
    f = flags()
    f.loc[0, "flag"] = "bad_mood"
    assert "expect_column_values_to_be_in_set" in retention_failures(f=f)
    f = flags()
    f.loc[1, "severity"] = "high"  # payment_delay is medium in the rules
    failures = validate_retention_risks(f, client_risk(), RULES).failures
    assert any("flag_severity" in x and "payment_delay:high" in x for x in failures)


def test_a_flag_twice_for_one_client_fails():
    f = pd.concat([flags(), flags().iloc[[0]]], ignore_index=True)
    assert "expect_compound_columns_to_be_unique" in retention_failures(f=f)


def test_risk_level_inconsistent_with_score_or_flags_fails():
    r = client_risk()
    r.loc[0, "risk_level"] = "medium"  # score 5 must be high
    assert retention_failures(r=r) == {"expect_column_values_to_be_in_set"}
    r = client_risk()
    r.loc[3, "risk_level"] = "medium"  # a high flag on a vip must be high
    assert retention_failures(r=r) == {"expect_column_values_to_be_in_set"}
    r = client_risk()
    r.loc[1, "risk_score"] = 4  # not the sum of its flags' points
    assert "expect_column_pair_values_to_be_equal" in retention_failures(r=r)


def leads() -> pd.DataFrame:
    frame = pd.DataFrame(
        {
            "lead_id": ["L1", "L2", "L3", "L4"],
            "bant_budget": [5, 4, 1, 2],
            "bant_authority": [5, 5, 1, 2],
            "bant_need": [5, 4, 1, 2],
            "bant_time": [5, 4, 1, 2],
            "bant_score": [625, 320, 1, 16],
            "bant_rank": [1, 2, 3, None],
            "excluded_reason": [None, None, None, "industry mining"],
            "readiness": ["hot", "warm", "cold", "cold"],
            "buyer_class": ["economic", "economic", None, "end_user"],
            "route": ["key-account desk"] * 4,
            "next_action": ["call"] * 4,
        }
    )
    return frame


def lead_failures(frame) -> set[str]:
    frame = frame.assign(
        bant_product=frame.bant_budget * frame.bant_authority * frame.bant_need * frame.bant_time,
        is_excluded=frame.excluded_reason.notna(),
    )
    return {x.split(" ")[0] for x in validate_lead_rankings(frame).failures}


def test_a_consistent_ranking_passes():
    assert lead_failures(leads()) == set()


def test_a_component_out_of_range_or_a_wrong_product_fails():
    frame = leads()
    frame.loc[0, "bant_need"] = 6
    assert "expect_column_values_to_be_between" in lead_failures(frame)
    frame = leads()
    frame.loc[1, "bant_score"] = 321
    assert lead_failures(frame) == {"expect_column_pair_values_to_be_equal"}


def test_ranks_with_a_gap_a_duplicate_or_on_an_excluded_lead_fail():
    gap = leads()
    gap.loc[2, "bant_rank"] = 4
    assert "expect_column_max_to_be_between" in lead_failures(gap)
    duplicate = leads()
    duplicate.loc[2, "bant_rank"] = 2
    assert "expect_column_values_to_be_unique" in lead_failures(duplicate)
    excluded = leads()
    excluded.loc[3, "bant_rank"] = 4
    assert "expect_column_values_to_be_null" in lead_failures(excluded)
    unranked = leads()
    unranked.loc[2, "bant_rank"] = None
    assert "expect_column_values_to_not_be_null" in lead_failures(unranked)
