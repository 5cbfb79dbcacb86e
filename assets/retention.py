"""Retention-risk flags (docs/retention.md) as pure functions over DataFrames.

Input is one row per client as the `fct_client_retention_signals` mart holds it, plus
each client's segment. Each flag is one function (FLAG_RULES) that evaluate_flags runs
in turn. Money thresholds are compared in whole kopecks with exact fractions, so a
client sitting exactly on a boundary (recent revenue exactly
retention.flags.revenue_decline.max_recent_to_prior_year_ratio of last year's, growth
of exactly max_growth) fires the way the rule is written, not the way floating point
rounds.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from collections.abc import Set as AbstractSet
from dataclasses import dataclass
from fractions import Fraction

import numpy as np
import pandas as pd
import pyarrow as pa  # type: ignore[import-untyped]  # no stubs shipped

from assets.config import RetentionRules
from assets.text import formatted, joined, when
from assets.vocabulary import (
    RETENTION_FLAGS,
    SEVERITIES,
    ContactRole,
    Export,
    RetentionFlag,
    RiskLevel,
    Severity,
)

# Which export each flag needs beyond the invoice lines and accounts: when that file
# is absent the flag is skipped (and said so), not evaluated on empty data.
FLAG_SOURCES = {
    RetentionFlag.CONTRACT_EXPIRING.value: Export.CONTRACTS.value,
    RetentionFlag.LOW_SATISFACTION.value: Export.FEEDBACK.value,
    RetentionFlag.NO_CONTACT.value: Export.ACTIVITIES.value,
    RetentionFlag.DECISION_MAKER_LOST.value: Export.CONTACTS.value,
}
# Exports that only qualify a flag: when absent the flag is still evaluated without that
# condition, and its evidence says what could not be checked.
FLAG_QUALIFIERS = {
    RetentionFlag.CONTRACT_EXPIRING.value: (Export.DEALS.value, "open deals unknown"),
}
SEVERITY_ORDER = {severity: order for order, severity in enumerate(SEVERITIES)}
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


def _at_most_share(amount: pd.Series, share: float | Fraction, of: pd.Series) -> pd.Series:
    """amount <= share x of, exactly (share as the decimal fraction it is written as)."""
    fraction = Fraction(str(share))
    return (_kopecks(amount) * fraction.denominator <= _kopecks(of) * fraction.numerator).fillna(
        False
    )


def _money(values: pd.Series) -> pd.Series:
    return formatted(pd.to_numeric(values).astype("float64"), lambda v: f"{v:,.2f}")


def _share(value: float, spec: str) -> str:
    """A ratio as a percentage; empty when it is undefined (a division by zero)."""
    return f"{value:{spec}}" if value == value and abs(value) != np.inf else ""


def _dates(values: pd.Series) -> pd.Series:
    return pd.to_datetime(values).dt.strftime("%Y-%m-%d")


def _days_until(dates: pd.Series, as_of: pd.Timestamp) -> pd.Series:
    """Whole days from as_of to each date (negative once it has passed)."""
    return (pd.to_datetime(dates) - as_of).dt.days


def _days_since(dates: pd.Series, as_of: pd.Timestamp) -> pd.Series:
    """Whole days from each date to as_of."""
    return (as_of - pd.to_datetime(dates)).dt.days


# The column of a flag's export that decides it: an export where no row carries it
# (Salesforce and HubSpot contacts have no role) cannot tell a lost decision-maker from
# an unknown one, so the flag is skipped instead of firing on every client.
FLAG_INPUT_COLUMNS = {RetentionFlag.DECISION_MAKER_LOST.value: (Export.CONTACTS.value, "role")}


def skipped_flags(
    absent_sources: AbstractSet[str], empty_inputs: AbstractSet[tuple[str, str]] = frozenset()
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


def qualified_flags(absent_sources: AbstractSet[str]) -> dict[str, str]:
    """Flags evaluated tonight without one of their conditions, with the reason (a flag
    skipped for want of its own input is not among them)."""
    skipped = skipped_flags(absent_sources)
    return {
        flag: f"{source}.csv was not in tonight's exports: evaluated without it ({unknown})"
        for flag, (source, unknown) in FLAG_QUALIFIERS.items()
        if source in absent_sources and flag not in skipped
    }


# --- One pure function per flag --------------------------------------------------------
#
# Each takes the signals (one row per client, index 0..n-1) and the FlagContext, and
# returns (fires, evidence): a boolean Series over every row, and the evidence text of
# the rows that fire only (indexed like them). Formatting every client's figures was
# most of the step's cost while a flag fires on a small share of the clients, so each
# rule decides first and writes the evidence of `s[fires]` after. The thresholds are
# the flag's own keys under retention.flags.<flag> in config/segmentation.yml.


@dataclass(frozen=True)
class FlagContext:
    """What a flag rule reads beside the signals."""

    rules: RetentionRules
    as_of: pd.Timestamp
    segment: pd.Series  # each signals row's segment
    absent: AbstractSet[str]  # the exports not delivered tonight


Fired = tuple[pd.Series, pd.Series]
FlagRuleFunction = Callable[[pd.DataFrame, FlagContext], Fired]


def flag_context(
    signals: pd.DataFrame,
    segments: pd.Series,
    rules: RetentionRules,
    as_of: dt.date,
    absent: AbstractSet[str] = frozenset(),
) -> tuple[pd.DataFrame, FlagContext]:
    """The signals indexed 0..n-1 and the context the flag rules read; `segments` is
    indexed by account_id."""
    s = signals.reset_index(drop=True)
    segment = s["account_id"].map(segments)
    return s, FlagContext(rules=rules, as_of=pd.Timestamp(as_of), segment=segment, absent=absent)


def revenue_decline(s: pd.DataFrame, context: FlagContext) -> Fired:
    """Revenue of the recent months at most max_recent_to_prior_year_ratio of the same
    months a year earlier (when that was positive), or growth of revenue_t12m against
    the revenue.window_months before (revenue_prev_t12m) at most max_growth."""
    rule = context.rules.flags.revenue_decline
    months = context.rules.recent_months
    by_months = (_kopecks(s["revenue_recent_months_prior_year"]) > 0).fillna(False) & (
        _at_most_share(
            s["revenue_recent_months"],
            rule.max_recent_to_prior_year_ratio,
            s["revenue_recent_months_prior_year"],
        )
    )
    by_growth = (_kopecks(s["revenue_prev_t12m"]) > 0).fillna(False) & _at_most_share(
        s["revenue_t12m"], 1 + Fraction(str(rule.max_growth)), s["revenue_prev_t12m"]
    )
    fires = by_months | by_growth
    fired = s[fires]
    recent, prior = fired["revenue_recent_months"], fired["revenue_recent_months_prior_year"]
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = pd.to_numeric(recent).astype("float64") / pd.to_numeric(prior).astype("float64")
        growth = (
            pd.to_numeric(fired["revenue_t12m"]).astype("float64")
            / pd.to_numeric(fired["revenue_prev_t12m"]).astype("float64")
            - 1
        )
    evidence = joined(
        when(
            by_months[fires],
            f"revenue of the last {months} months "
            + _money(recent)
            + " is "
            + formatted(ratio, lambda r: _share(r, ".0%"))
            + " of the same months a year earlier ("
            + _money(prior)
            + f"; threshold {rule.max_recent_to_prior_year_ratio:.0%})",
        ),
        when(
            by_growth[fires],
            "revenue_t12m "
            + _money(fired["revenue_t12m"])
            + " against "
            + _money(fired["revenue_prev_t12m"])
            + " the 12 months before: growth "
            + formatted(growth, lambda g: _share(g, "+.1%"))
            + f" (threshold {rule.max_growth:+.0%})",
        ),
    )
    return fires, evidence


def lapsed(s: pd.DataFrame, context: FlagContext) -> Fired:
    """A regular buyer (at least min_active_months_before_recent active months in the
    retention.lapsed_lookback_months before the recent ones) with no net revenue in the
    retention.recent_months."""
    rule = context.rules.flags.lapsed
    months = context.rules.recent_months
    active_before = s["active_months_before_recent"].astype("int64")
    fires = (active_before >= rule.min_active_months_before_recent) & (
        _kopecks(s["revenue_recent_months"]) <= 0
    ).fillna(False)
    evidence = (
        active_before[fires].astype(str)
        + f" active months in the {context.rules.lapsed_lookback_months} before the last "
        + f"{months}, and net revenue of the last {months} months is "
        + _money(s.loc[fires, "revenue_recent_months"])
    )
    return fires, evidence


def payment_delay(s: pd.DataFrame, context: FlagContext) -> Fired:
    """Anything overdue by more than revenue.overdue_days (the mart's overdue_30_amount),
    or paying later than max_avg_days_late on average."""
    rule = context.rules.flags.payment_delay
    overdue = (_kopecks(s["overdue_30_amount"]) > 0).fillna(False)
    late = pd.to_numeric(s["avg_days_late"]).astype("float64")
    slow = (late > rule.max_avg_days_late).fillna(False)
    fires = overdue | slow
    evidence = joined(
        # The words say 30 days, the default of revenue.overdue_days: a published text,
        # kept as it is.
        when(
            overdue[fires],
            _money(s.loc[fires, "overdue_30_amount"]) + " overdue by more than 30 days",
        ),
        when(
            slow[fires],
            "paid "
            + formatted(late[fires], lambda d: f"{d:.1f}")
            + f" days late on average over 12 months (threshold {rule.max_avg_days_late})",
        ),
    )
    return fires, evidence


def contract_expiring(s: pd.DataFrame, context: FlagContext) -> Fired:
    """A running contract without auto-renew ends within within_days and nobody is
    working on a deal with the client (unknown when the deals export is absent)."""
    rule = context.rules.flags.contract_expiring
    days_left = _days_until(s["next_non_renewing_end_date"], context.as_of)
    deals_known = FLAG_QUALIFIERS[RetentionFlag.CONTRACT_EXPIRING][0] not in context.absent
    no_deal = s["open_deals"].fillna(0).astype("int64") == 0
    fires = days_left.between(0, rule.within_days).fillna(False) & no_deal
    fired = s[fires]
    evidence = (
        "contract "
        + fired["next_non_renewing_contract_id"].astype(str)
        + " ends "
        + _dates(fired["next_non_renewing_end_date"])
        + " (in "
        + days_left[fires].astype("Int64").astype(str)
        + f" days, threshold {rule.within_days}) without auto-renew, "
        + ("and no open deal" if deals_known else "open deals unknown (no deals export)")
    )
    return fires, evidence


def product_contraction(s: pd.DataFrame, context: FlagContext) -> Fired:
    """Fewer distinct products than in the revenue.window_months before."""
    now_products = s["products_t12m"].fillna(0).astype("int64")
    before_products = s["products_prev_t12m"].fillna(0).astype("int64")
    fires = now_products < before_products
    evidence = (
        "buys "
        + now_products[fires].astype(str)
        + " product(s) in the last 12 months against "
        + before_products[fires].astype(str)
        + " in the 12 months before"
    )
    return fires, evidence


def low_satisfaction(s: pd.DataFrame, context: FlagContext) -> Fired:
    """Latest NPS at most max_nps, latest CSAT at most max_csat, or a complaint less than
    complaint_within_days before as_of."""
    rule = context.rules.flags.low_satisfaction
    nps = pd.to_numeric(s["latest_nps"]).astype("Float64")
    csat = pd.to_numeric(s["latest_csat"]).astype("Float64")
    complaint_age = _days_since(s["latest_complaint_date"], context.as_of)
    low_nps = (nps <= rule.max_nps).fillna(False)
    low_csat = (csat <= rule.max_csat).fillna(False)
    complained = (complaint_age < rule.complaint_within_days).fillna(False)
    fires = low_nps | low_csat | complained
    fired = s[fires]
    evidence = joined(
        when(
            low_nps[fires],
            "latest NPS "
            + nps[fires].astype("Int64").astype(str)
            + " on "
            + _dates(fired["latest_nps_date"])
            + f" (<= {rule.max_nps})",
        ),
        when(
            low_csat[fires],
            "latest CSAT "
            + csat[fires].astype("Int64").astype(str)
            + " on "
            + _dates(fired["latest_csat_date"])
            + f" (<= {rule.max_csat})",
        ),
        when(
            complained[fires],
            "complaint on "
            + _dates(fired["latest_complaint_date"])
            + ", "
            + complaint_age[fires].astype("Int64").astype(str)
            + " days before as_of",
        ),
    )
    return fires, evidence


def no_contact(s: pd.DataFrame, context: FlagContext) -> Fired:
    """A client of one of the segments nobody has called, met or written to in the last
    within_days (or ever)."""
    rule = context.rules.flags.no_contact
    silence = _days_since(s["last_activity_date"], context.as_of)
    fires = context.segment.isin(rule.segments) & (silence.isna() | (silence >= rule.within_days))
    silence = silence[fires]
    evidence = (
        context.segment[fires].astype(str)
        + " client; "
        + np.where(
            silence.isna(),
            "no activity recorded",
            "last activity "
            + _dates(s.loc[fires, "last_activity_date"])
            + ", "
            + silence.astype("Int64").astype(str)
            + " days before as_of",
        )
        + f" (threshold {rule.within_days} days)"
    )
    return fires, evidence


def decision_maker_lost(s: pd.DataFrame, context: FlagContext) -> Fired:
    """A CRM client with no active contact in the decision-maker role."""
    dms = s["active_decision_makers"].fillna(0).astype("int64")
    fires = s["is_in_crm"].astype(bool) & (dms == 0)
    evidence = pd.Series(
        f"no active contact with role {ContactRole.DECISION_MAKER.value} in the CRM",
        index=s.index[fires],
    )
    return fires, evidence


def ownership_change(s: pd.DataFrame, context: FlagContext) -> Fired:
    """The parent account differs from the previous night's CRM snapshot (a parent
    appearing where there was none is a change too)."""
    before = s["previous_parent_account_id"].astype("string")
    now = s["parent_account_id"].astype("string")
    fires = s["was_in_previous_snapshot"].fillna(False).astype(bool) & (
        before.fillna("\0") != now.fillna("\0")
    )
    evidence = (
        "parent account changed from "
        + before[fires].fillna("none")
        + " to "
        + now[fires].fillna("none")
        + " since the CRM snapshot of "
        + _dates(s.loc[fires, "previous_snapshot_as_of"]).fillna("")
    )
    return fires, evidence


# Every flag's rule, in the order of RETENTION_FLAGS.
FLAG_RULES: dict[str, FlagRuleFunction] = {
    RetentionFlag.REVENUE_DECLINE.value: revenue_decline,
    RetentionFlag.LAPSED.value: lapsed,
    RetentionFlag.PAYMENT_DELAY.value: payment_delay,
    RetentionFlag.CONTRACT_EXPIRING.value: contract_expiring,
    RetentionFlag.PRODUCT_CONTRACTION.value: product_contraction,
    RetentionFlag.LOW_SATISFACTION.value: low_satisfaction,
    RetentionFlag.NO_CONTACT.value: no_contact,
    RetentionFlag.DECISION_MAKER_LOST.value: decision_maker_lost,
    RetentionFlag.OWNERSHIP_CHANGE.value: ownership_change,
}


def evaluate_flags(
    signals: pd.DataFrame,
    segments: pd.Series,
    rules: RetentionRules,
    as_of: dt.date,
    skip: AbstractSet[str] = frozenset(),
    absent: AbstractSet[str] = frozenset(),
) -> pd.DataFrame:
    """One row per client and fired flag: flag, severity, evidence in words and figures
    and the recommended action. `segments` is indexed by account_id. `skip`: flags not
    evaluated tonight (skipped_flags). `absent`: the exports not delivered tonight (a
    qualifying condition on them is not claimed)."""
    s, context = flag_context(signals, segments, rules, as_of, absent)
    # Evaluated in the order a client's flags are listed (most severe first, then by
    # name), so one stable sort by account_id puts every row in place.
    names = sorted(
        (name for name in RETENTION_FLAGS if name not in skip),
        key=lambda name: (SEVERITY_ORDER[rules.flags[name].severity], name),
    )
    frames = []
    for name in names:
        fires, evidence = FLAG_RULES[name](s, context)
        mask = fires.fillna(False).astype(bool)
        rule = rules.flags[name]
        frames.append(
            pd.DataFrame(
                {
                    "account_id": s.loc[mask, "account_id"],
                    "flag": name,
                    "severity": rule.severity,
                    "severity_points": rules.severity_points[rule.severity],
                    "evidence": evidence.astype(str),
                    "recommended_action": rule.action,
                }
            )
        )
    out = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=FLAG_COLUMNS)
    out = out.sort_values("account_id", kind="stable")
    return out.reset_index(drop=True)[FLAG_COLUMNS]


def summarize_client_risk(
    flags: pd.DataFrame, clients: pd.DataFrame, rules: RetentionRules
) -> pd.DataFrame:
    """Per client (every row of `clients`, one per account_id: account_id, segment,
    revenue_t12m): risk_score, risk_level, risk_flags (list, most severe first) and
    revenue_at_risk (revenue_t12m of high-risk clients, else 0). docs/retention.md:
    risk_level is high when the score reaches retention.risk_level.high_min_score or a
    high-severity flag hits a client of risk_level.high_flag_segments, medium from
    medium_min_score, else low.
    """
    # Each flag row's client as its position in `clients`: the roll-ups are counts per
    # position (bincount) instead of a group-by and a reindex by account_id.
    position = pd.Index(clients["account_id"]).get_indexer(flags["account_id"])
    known = position >= 0
    position = position[known]
    n = len(clients)
    points = flags["severity_points"].to_numpy(dtype="float64")[known]
    score = np.bincount(position, weights=points, minlength=n).astype("int64")
    is_high = flags["severity"].eq(Severity.HIGH).to_numpy(dtype=bool)[known]
    has_high = np.bincount(position[is_high], minlength=n) > 0
    out = clients[["account_id"]].reset_index(drop=True)
    out["risk_score"] = score
    escalated = has_high & clients["segment"].isin(rules.high_flag_segments).to_numpy()
    out["risk_level"] = np.select(
        [(score >= rules.high_min_score) | escalated, score >= rules.medium_min_score],
        [RiskLevel.HIGH.value, RiskLevel.MEDIUM.value],
        default=RiskLevel.LOW.value,
    )
    out["risk_flags"] = _flag_lists(flags["flag"].to_numpy(dtype=object)[known], position, n)
    revenue = pd.to_numeric(clients["revenue_t12m"]).astype("float64").to_numpy()
    out["revenue_at_risk"] = np.where(out["risk_level"].eq(RiskLevel.HIGH), revenue, 0.0).round(2)
    return out


def _flag_lists(flag: np.ndarray, position: np.ndarray, n: int) -> pd.arrays.ArrowExtensionArray:
    """The flags of each of n clients as a list, in the order given (`position`: each
    flag's client). An Arrow list column: built without a Python list per client, and
    DuckDB reads it without converting one object at a time."""
    order = np.argsort(position, kind="stable")
    offsets = np.r_[0, np.cumsum(np.bincount(position, minlength=n))].astype("int32")
    values = pa.array(flag[order], type=pa.string())
    return pd.arrays.ArrowExtensionArray(pa.ListArray.from_arrays(offsets, values))
