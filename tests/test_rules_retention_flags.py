"""Each retention flag's own rule function on a hand-built frame: it fires on the client
sitting exactly on its threshold (read from retention.flags.<flag> of the config) and
stays silent one step across it, and its evidence names the figures."""

import datetime as dt

import pandas as pd
import pytest

from assets import retention as r
from assets.config import load_rules

RULES = load_rules().retention
FLAGS = RULES.flags
AS_OF = dt.date(2026, 10, 31)
DAY = pd.Timedelta(days=1)


def quiet(**changes) -> dict:
    """A client that fires no flag: steady revenue, paying on time, in touch, happy."""
    row = {
        "account_id": "C1",
        "is_in_crm": True,
        "revenue_t12m": 1200.00,
        "revenue_prev_t12m": 1200.00,
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


def run(function, *rows: dict, segment="typical", absent=frozenset()) -> tuple[list, list]:
    """(fires, evidence) of `function` for `rows`, the n-th client named C<n>."""
    signals = pd.DataFrame([{**row, "account_id": f"C{i}"} for i, row in enumerate(rows)])
    segments = pd.Series(segment, index=signals["account_id"])
    s, context = r.flag_context(signals, segments, RULES, AS_OF, absent)
    fires, evidence = function(s, context)
    # A rule writes the evidence of the rows that fire only: "" stands for the others.
    evidence = evidence.reindex(s.index, fill_value="")
    return fires.fillna(False).astype(bool).tolist(), evidence.astype(str).tolist()


def kopecks_share(amount: float, share: float) -> float:
    return round(amount * share, 2)


def test_revenue_decline_by_the_recent_months():
    ratio = FLAGS.revenue_decline.max_recent_to_prior_year_ratio
    at = kopecks_share(300.00, ratio)
    fires, evidence = run(
        r.revenue_decline,
        quiet(revenue_recent_months=at),
        quiet(revenue_recent_months=at + 0.01),
        quiet(revenue_recent_months=0.0, revenue_recent_months_prior_year=0.0),
    )
    assert fires == [True, False, False]  # nothing a year earlier: no decline to measure
    assert f"{at:,.2f} is {ratio:.0%} of the same months a year earlier" in evidence[0]


def test_revenue_decline_by_growth():
    at = kopecks_share(1200.00, 1 + FLAGS.revenue_decline.max_growth)
    fires, evidence = run(
        r.revenue_decline,
        quiet(revenue_t12m=at),
        quiet(revenue_t12m=at + 0.01),
        quiet(revenue_t12m=0.0, revenue_prev_t12m=0.0),
    )
    assert fires == [True, False, False]
    assert "growth -20.0% (threshold -20%)" in evidence[0]


def test_lapsed():
    least = FLAGS.lapsed.min_active_months_before_recent
    none_recent = {"revenue_recent_months": 0.0, "revenue_recent_months_prior_year": 0.0}
    fires, evidence = run(
        r.lapsed,
        quiet(active_months_before_recent=least, **none_recent),
        quiet(active_months_before_recent=least - 1, **none_recent),
        quiet(active_months_before_recent=least, revenue_recent_months=0.01),
    )
    assert fires == [True, False, False]
    assert evidence[0].startswith(f"{least} active months in the 12 before the last 3")


def test_payment_delay():
    limit = FLAGS.payment_delay.max_avg_days_late
    fires, evidence = run(
        r.payment_delay,
        quiet(overdue_30_amount=0.01),
        quiet(avg_days_late=limit + 0.1),
        quiet(avg_days_late=float(limit)),
        quiet(avg_days_late=None),
    )
    assert fires == [True, True, False, False]
    assert evidence[0] == "0.01 overdue by more than 30 days"
    assert f"(threshold {limit})" in evidence[1]


def test_contract_expiring():
    within = FLAGS.contract_expiring.within_days
    ends = pd.Timestamp(AS_OF) + within * DAY
    contract = {"next_non_renewing_contract_id": "K1"}
    fires, evidence = run(
        r.contract_expiring,
        quiet(next_non_renewing_end_date=ends, **contract),
        quiet(next_non_renewing_end_date=ends + DAY, **contract),
        quiet(next_non_renewing_end_date=ends, open_deals=1, **contract),
        quiet(next_non_renewing_end_date=pd.Timestamp(AS_OF) - DAY, **contract),
    )
    assert fires == [True, False, False, False]
    assert (
        f"(in {within} days, threshold {within}) without auto-renew, and no open deal"
        in (evidence[0])
    )


def test_contract_expiring_without_the_deals_export_says_so():
    ends = pd.Timestamp(AS_OF) + DAY
    fires, evidence = run(
        r.contract_expiring,
        quiet(next_non_renewing_end_date=ends, next_non_renewing_contract_id="K1"),
        absent={"deals"},
    )
    assert fires == [True]
    assert evidence[0].endswith("open deals unknown (no deals export)")


def test_product_contraction():
    fires, evidence = run(
        r.product_contraction, quiet(products_t12m=1), quiet(products_t12m=2), quiet()
    )
    assert fires == [True, False, False]
    assert evidence[0] == (
        "buys 1 product(s) in the last 12 months against 2 in the 12 months before"
    )


def test_low_satisfaction():
    rule = FLAGS.low_satisfaction
    complained = pd.Timestamp(AS_OF) - (rule.complaint_within_days - 1) * DAY
    fires, evidence = run(
        r.low_satisfaction,
        quiet(latest_nps=rule.max_nps),
        quiet(latest_nps=rule.max_nps + 1),
        quiet(latest_csat=rule.max_csat),
        quiet(latest_csat=rule.max_csat + 1),
        quiet(latest_complaint_date=complained),
        quiet(latest_complaint_date=complained - DAY),
        quiet(latest_nps=None, latest_csat=None),
    )
    assert fires == [True, False, True, False, True, False, False]
    assert evidence[0] == f"latest NPS {rule.max_nps} on 2026-09-01 (<= {rule.max_nps})"
    assert evidence[4].endswith(f"{rule.complaint_within_days - 1} days before as_of")


def test_no_contact():
    rule = FLAGS.no_contact
    silent_since = pd.Timestamp(AS_OF) - rule.within_days * DAY
    rows = [
        quiet(last_activity_date=silent_since),
        quiet(last_activity_date=silent_since + DAY),
        quiet(last_activity_date=pd.NaT),
    ]
    fires, evidence = run(r.no_contact, *rows, segment=rule.segments[0])
    assert fires == [True, False, True]
    assert evidence[2] == (
        f"{rule.segments[0]} client; no activity recorded (threshold {rule.within_days} days)"
    )
    assert run(r.no_contact, *rows, segment="typical")[0] == [False, False, False]


def test_decision_maker_lost():
    fires, evidence = run(
        r.decision_maker_lost,
        quiet(active_decision_makers=0),
        quiet(active_decision_makers=1),
        quiet(active_decision_makers=0, is_in_crm=False),
    )
    assert fires == [True, False, False]
    assert evidence[0] == "no active contact with role decision_maker in the CRM"


def test_ownership_change():
    fires, evidence = run(
        r.ownership_change,
        quiet(parent_account_id="G2"),
        quiet(),
        quiet(previous_parent_account_id=None, parent_account_id="G9"),
        quiet(previous_parent_account_id=None, parent_account_id=None),
        quiet(parent_account_id="G2", was_in_previous_snapshot=False),
    )
    assert fires == [True, False, True, False, False]
    assert (
        evidence[0] == "parent account changed from G1 to G2 since the CRM snapshot of 2026-10-30"
    )
    assert evidence[2].startswith("parent account changed from none to G9")


@pytest.mark.parametrize("name", list(r.FLAG_RULES))
def test_a_quiet_client_fires_no_flag(name):
    assert run(r.FLAG_RULES[name], quiet(), segment="vip")[0] == [False]


@pytest.mark.parametrize("name", list(r.FLAG_RULES))
def test_a_rule_writes_evidence_for_exactly_the_rows_that_fire(name):
    firing = {
        "revenue_decline": {"revenue_recent_months": 0.0},
        "lapsed": {"revenue_recent_months": 0.0, "revenue_recent_months_prior_year": 0.0},
        "payment_delay": {"overdue_30_amount": 5.0},
        "contract_expiring": {
            "next_non_renewing_contract_id": "K1",
            "next_non_renewing_end_date": pd.Timestamp(AS_OF) + DAY,
        },
        "product_contraction": {"products_t12m": 1},
        "low_satisfaction": {"latest_nps": 0},
        "no_contact": {"last_activity_date": pd.NaT},
        "decision_maker_lost": {"active_decision_makers": 0},
        "ownership_change": {"parent_account_id": "G2"},
    }[name]
    signals = pd.DataFrame(
        [{**quiet(**changes), "account_id": f"C{i}"} for i, changes in enumerate([{}, firing, {}])]
    )
    segments = pd.Series("vip", index=signals["account_id"])
    s, context = r.flag_context(signals, segments, RULES, AS_OF)
    fires, evidence = r.FLAG_RULES[name](s, context)
    assert fires.tolist() == [False, True, False]
    assert evidence.index.tolist() == [1] and evidence.iloc[0] != ""


def test_evaluate_flags_keeps_only_the_rows_that_fire_with_the_configured_action():
    signals = pd.DataFrame([quiet(products_t12m=1), {**quiet(), "account_id": "C2"}])
    out = r.evaluate_flags(signals, pd.Series("typical", index=["C1", "C2"]), RULES, AS_OF)
    assert out.to_dict("records") == [
        {
            "account_id": "C1",
            "flag": "product_contraction",
            "severity": FLAGS["product_contraction"].severity,
            "severity_points": RULES.severity_points[FLAGS["product_contraction"].severity],
            "evidence": "buys 1 product(s) in the last 12 months against 2 in the 12 months before",
            "recommended_action": FLAGS["product_contraction"].action,
        }
    ]


def test_no_client_no_flag():
    signals = pd.DataFrame([quiet()]).iloc[:0]
    out = r.evaluate_flags(signals, pd.Series(dtype=str), RULES, AS_OF)
    assert list(out.columns) == r.FLAG_COLUMNS and out.empty
