"""Retention-risk flags (DOMAIN 7) as pure functions over DataFrames.

Input is one row per client as the `fct_client_retention_signals` mart holds it, plus
each client's segment. Money thresholds are compared in whole kopecks with exact
fractions, so a client sitting exactly on a boundary (70% of last year, growth of
exactly -20%) fires the way the rule is written, not the way floating point rounds.
"""

from __future__ import annotations

import datetime as dt
from fractions import Fraction

import numpy as np
import pandas as pd

from assets.config import RETENTION_FLAGS, RetentionRules

# Which export each flag needs beyond the invoice lines and accounts: when that file
# is absent the flag is skipped (and said so), not evaluated on empty data.
FLAG_SOURCES = {
    "contract_expiring": "contracts",
    "low_satisfaction": "feedback",
    "no_contact": "activities",
    "decision_maker_lost": "contacts",
}
# Exports that only qualify a flag: when absent the flag is still evaluated without that
# condition, and its evidence says what could not be checked.
FLAG_QUALIFIERS = {
    "contract_expiring": ("deals", "open deals unknown"),
}
SEVERITY_ORDER = {"high": 0, "medium": 1, "low": 2}
FLAG_COLUMNS = [
    "account_id",
    "flag",
    "severity",
    "severity_points",
    "evidence",
    "recommended_action",
]


def _kopecks(values: pd.Series) -> pd.Series:
    """Money as whole kopecks (int64); missing stays missing."""
    return (pd.to_numeric(values).astype("float64") * 100).round().astype("Int64")


def _at_most_share(amount: pd.Series, share: float, of: pd.Series) -> pd.Series:
    """amount <= share x of, exactly (share as the decimal fraction it is written as)."""
    fraction = Fraction(str(share))
    return (_kopecks(amount) * fraction.denominator <= _kopecks(of) * fraction.numerator).fillna(
        False
    )


def _money(values: pd.Series) -> pd.Series:
    return pd.Series(
        [f"{v:,.2f}" for v in pd.to_numeric(values).astype("float64")], index=values.index
    )


def _when(mask: pd.Series, text: pd.Series) -> pd.Series:
    """`text` where `mask` holds, else the empty string."""
    return text.where(mask, "")


def _joined(*parts: pd.Series) -> pd.Series:
    """Join the non-empty parts of each row with '; '."""
    out = parts[0]
    for part in parts[1:]:
        separator = pd.Series(np.where((out != "") & (part != ""), "; ", ""), index=out.index)
        out = out + separator + part
    return out


def _dates(values: pd.Series) -> pd.Series:
    return pd.to_datetime(values).dt.strftime("%Y-%m-%d")


def _days(later: pd.Series | pd.Timestamp, earlier: pd.Series | pd.Timestamp) -> pd.Series:
    return (pd.to_datetime(later) - pd.to_datetime(earlier)).dt.days


# The column of a flag's export that decides it: an export where no row carries it
# (Salesforce and HubSpot contacts have no role) cannot tell a lost decision-maker from
# an unknown one, so the flag is skipped instead of firing on every client.
FLAG_INPUT_COLUMNS = {"decision_maker_lost": ("contacts", "role")}


def skipped_flags(
    absent_sources: set[str], empty_inputs: set[tuple[str, str]] = frozenset()
) -> dict[str, str]:
    """Flags that cannot be evaluated tonight, with the reason."""
    skipped = {
        flag: f"{source}.csv was not in tonight's exports"
        for flag, source in FLAG_SOURCES.items()
        if source in absent_sources
    }
    for flag, (source, column) in FLAG_INPUT_COLUMNS.items():
        if flag not in skipped and (source, column) in empty_inputs:
            skipped[flag] = f"no row of tonight's {source} export gives a {column}"
    return skipped


def qualified_flags(absent_sources: set[str]) -> dict[str, str]:
    """Flags evaluated tonight without one of their conditions, with the reason (a flag
    skipped for want of its own input is not among them)."""
    skipped = skipped_flags(absent_sources)
    return {
        flag: f"{source}.csv was not in tonight's exports: evaluated without it ({unknown})"
        for flag, (source, unknown) in FLAG_QUALIFIERS.items()
        if source in absent_sources and flag not in skipped
    }


def evaluate_flags(
    signals: pd.DataFrame,
    segments: pd.Series,
    rules: RetentionRules,
    as_of: dt.date,
    skip: set[str] = frozenset(),
    absent: set[str] = frozenset(),
) -> pd.DataFrame:
    """One row per client and fired flag: flag, severity, evidence in words and figures
    and the recommended action. `segments` is indexed by account_id. `absent`: the
    exports not delivered tonight (a qualifying condition on them is not claimed)."""
    s = signals.reset_index(drop=True)
    as_of_ts = pd.Timestamp(as_of)
    segment = s["account_id"].map(segments)
    fired: dict[str, tuple[pd.Series, pd.Series]] = {}
    flags = rules.flags

    # revenue_decline: recent months <= 70% of the same months a year earlier, or
    # growth <= -20% (t12m against the 12 months before).
    t = flags["revenue_decline"].thresholds
    recent, prior = s["revenue_recent_months"], s["revenue_recent_months_prior_year"]
    by_months = (_kopecks(prior) > 0).fillna(False) & _at_most_share(
        recent, t["max_recent_to_prior_year_ratio"], prior
    )
    by_growth = (_kopecks(s["revenue_prev_t12m"]) > 0).fillna(False) & _at_most_share(
        s["revenue_t12m"], 1 + Fraction(str(t["max_growth"])), s["revenue_prev_t12m"]
    )
    months = rules.recent_months
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = pd.to_numeric(recent).astype("float64") / pd.to_numeric(prior).astype("float64")
        growth = (
            pd.to_numeric(s["revenue_t12m"]).astype("float64")
            / pd.to_numeric(s["revenue_prev_t12m"]).astype("float64")
            - 1
        )
    evidence = _joined(
        _when(
            by_months,
            f"revenue of the last {months} months "
            + _money(recent)
            + " is "
            + ratio.map(lambda r: f"{r:.0%}" if r == r and abs(r) != np.inf else "")
            + " of the same months a year earlier ("
            + _money(prior)
            + f"; threshold {t['max_recent_to_prior_year_ratio']:.0%})",
        ),
        _when(
            by_growth,
            "revenue_t12m "
            + _money(s["revenue_t12m"])
            + " against "
            + _money(s["revenue_prev_t12m"])
            + " the 12 months before: growth "
            + growth.map(lambda g: f"{g:+.1%}" if g == g and abs(g) != np.inf else "")
            + f" (threshold {t['max_growth']:+.0%})",
        ),
    )
    fired["revenue_decline"] = (by_months | by_growth, evidence)

    # lapsed: a regular buyer (>= 6 active months in the 12 before the recent ones)
    # with no net revenue in the recent months.
    t = flags["lapsed"].thresholds
    active_before = s["active_months_before_recent"].astype("int64")
    mask = (active_before >= t["min_active_months_before_recent"]) & (_kopecks(recent) <= 0).fillna(
        False
    )
    fired["lapsed"] = (
        mask,
        active_before.astype(str)
        + f" active months in the {rules.lapsed_lookback_months} before the last {months}, "
        + f"and net revenue of the last {months} months is "
        + _money(recent),
    )

    # payment_delay: anything overdue by more than 30 days, or paying late on average.
    t = flags["payment_delay"].thresholds
    overdue = (_kopecks(s["overdue_30_amount"]) > 0).fillna(False)
    late = pd.to_numeric(s["avg_days_late"]).astype("float64")
    slow = (late > t["max_avg_days_late"]).fillna(False)
    evidence = _joined(
        _when(overdue, _money(s["overdue_30_amount"]) + " overdue by more than 30 days"),
        _when(
            slow,
            "paid "
            + late.map(lambda d: f"{d:.1f}")
            + f" days late on average over 12 months (threshold {t['max_avg_days_late']})",
        ),
    )
    fired["payment_delay"] = (overdue | slow, evidence)

    # contract_expiring: a running contract without auto-renew ends within 90 days and
    # nobody is working on a deal with the client.
    t = flags["contract_expiring"].thresholds
    days_left = _days(s["next_non_renewing_end_date"], as_of_ts)
    deals_known = FLAG_QUALIFIERS["contract_expiring"][0] not in absent
    no_deal = s["open_deals"].fillna(0).astype("int64") == 0
    mask = days_left.between(0, t["within_days"]).fillna(False) & no_deal
    fired["contract_expiring"] = (
        mask,
        "contract "
        + s["next_non_renewing_contract_id"].astype(str)
        + " ends "
        + pd.to_datetime(s["next_non_renewing_end_date"]).dt.strftime("%Y-%m-%d")
        + " (in "
        + days_left.astype("Int64").astype(str)
        + f" days, threshold {t['within_days']}) without auto-renew, "
        + ("and no open deal" if deals_known else "open deals unknown (no deals export)"),
    )

    # product_contraction: fewer distinct products than in the 12 months before.
    now_products = s["products_t12m"].fillna(0).astype("int64")
    before_products = s["products_prev_t12m"].fillna(0).astype("int64")
    fired["product_contraction"] = (
        now_products < before_products,
        "buys "
        + now_products.astype(str)
        + " product(s) in the last 12 months against "
        + before_products.astype(str)
        + " in the 12 months before",
    )

    # low_satisfaction: latest NPS <= 6, latest CSAT <= 2, or a recent complaint.
    t = flags["low_satisfaction"].thresholds
    nps = pd.to_numeric(s["latest_nps"]).astype("Float64")
    csat = pd.to_numeric(s["latest_csat"]).astype("Float64")
    complaint_age = _days(as_of_ts, s["latest_complaint_date"])
    low_nps = (nps <= t["max_nps"]).fillna(False)
    low_csat = (csat <= t["max_csat"]).fillna(False)
    complained = (complaint_age < t["complaint_within_days"]).fillna(False)
    evidence = _joined(
        _when(
            low_nps,
            "latest NPS "
            + nps.astype("Int64").astype(str)
            + " on "
            + _dates(s["latest_nps_date"])
            + f" (<= {t['max_nps']})",
        ),
        _when(
            low_csat,
            "latest CSAT "
            + csat.astype("Int64").astype(str)
            + " on "
            + _dates(s["latest_csat_date"])
            + f" (<= {t['max_csat']})",
        ),
        _when(
            complained,
            "complaint on "
            + _dates(s["latest_complaint_date"])
            + ", "
            + complaint_age.astype("Int64").astype(str)
            + " days before as_of",
        ),
    )
    fired["low_satisfaction"] = (low_nps | low_csat | complained, evidence)

    # no_contact: a vip or strategic client nobody has called, met or written to in
    # the last 90 days.
    t = flags["no_contact"].thresholds
    silence = _days(as_of_ts, s["last_activity_date"])
    mask = segment.isin(t["segments"]) & (silence.isna() | (silence >= t["within_days"]))
    fired["no_contact"] = (
        mask,
        segment.astype(str)
        + " client; "
        + np.where(
            silence.isna(),
            "no activity recorded",
            "last activity "
            + pd.to_datetime(s["last_activity_date"]).dt.strftime("%Y-%m-%d")
            + ", "
            + silence.astype("Int64").astype(str)
            + " days before as_of",
        )
        + f" (threshold {t['within_days']} days)",
    )

    # decision_maker_lost: a CRM client with no active decision-maker contact.
    dms = s["active_decision_makers"].fillna(0).astype("int64")
    fired["decision_maker_lost"] = (
        s["is_in_crm"].astype(bool) & (dms == 0),
        pd.Series("no active contact with role decision_maker in the CRM", index=s.index),
    )

    # ownership_change: the parent account differs from the previous night's snapshot.
    before = s["previous_parent_account_id"].astype("string")
    now = s["parent_account_id"].astype("string")
    changed = s["was_in_previous_snapshot"].fillna(False).astype(bool) & (
        before.fillna("\0") != now.fillna("\0")
    )
    fired["ownership_change"] = (
        changed,
        "parent account changed from "
        + before.fillna("none")
        + " to "
        + now.fillna("none")
        + " since the CRM snapshot of "
        + pd.to_datetime(s["previous_snapshot_as_of"]).dt.strftime("%Y-%m-%d").fillna(""),
    )

    frames = []
    for name in RETENTION_FLAGS:
        if name in skip:
            continue
        mask, evidence = fired[name]
        mask = mask.fillna(False).astype(bool)
        rule = flags[name]
        frames.append(
            pd.DataFrame(
                {
                    "account_id": s.loc[mask, "account_id"],
                    "flag": name,
                    "severity": rule.severity,
                    "severity_points": rules.severity_points[rule.severity],
                    "evidence": evidence[mask].astype(str),
                    "recommended_action": rule.action,
                }
            )
        )
    out = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=FLAG_COLUMNS)
    out["_order"] = out["severity"].map(SEVERITY_ORDER)
    out = out.sort_values(["account_id", "_order", "flag"]).drop(columns="_order")
    return out.reset_index(drop=True)[FLAG_COLUMNS]


def summarize_client_risk(
    flags: pd.DataFrame, clients: pd.DataFrame, rules: RetentionRules
) -> pd.DataFrame:
    """Per client (every row of `clients`: account_id, segment, revenue_t12m):
    risk_score, risk_level, risk_flags (list, most severe first) and revenue_at_risk
    (revenue_t12m of high-risk clients, else 0). DOMAIN 7: risk_level is high when the
    score reaches 5 or a high flag hits a vip/strategic client, medium from 2, else low.
    """
    grouped = flags.groupby("account_id", sort=False)
    score = grouped["severity_points"].sum().reindex(clients["account_id"]).fillna(0)
    has_high = (
        flags["severity"]
        .eq("high")
        .groupby(flags["account_id"], sort=False)
        .any()
        .reindex(clients["account_id"])
        .fillna(False)
        .astype(bool)
        .to_numpy()
    )
    # Flags in the order given (most severe first from evaluate_flags), split per client.
    ordered = flags.reset_index(drop=True)
    ordered = ordered.iloc[np.argsort(ordered["account_id"].to_numpy(), kind="stable")]
    ids = ordered["account_id"].to_numpy()
    starts = np.flatnonzero(np.r_[True, ids[1:] != ids[:-1]]) if len(ids) else np.array([], int)
    lists = (
        {}
        if not len(ids)
        else dict(
            zip(
                ids[starts],
                (list(x) for x in np.split(ordered["flag"].to_numpy(), starts[1:])),
                strict=True,
            )
        )
    )
    out = clients[["account_id"]].reset_index(drop=True)
    out["risk_score"] = score.astype("int64").to_numpy()
    escalated = has_high & clients["segment"].isin(rules.high_flag_segments).to_numpy()
    out["risk_level"] = np.select(
        [
            (out["risk_score"] >= rules.high_min_score).to_numpy() | escalated,
            (out["risk_score"] >= rules.medium_min_score).to_numpy(),
        ],
        ["high", "medium"],
        default="low",
    )
    out["risk_flags"] = [lists.get(a, []) for a in out["account_id"]]
    revenue = pd.to_numeric(clients["revenue_t12m"]).astype("float64").to_numpy()
    out["revenue_at_risk"] = np.where(out["risk_level"].eq("high"), revenue, 0.0).round(2)
    return out
