"""Lead ranking (docs/leads.md): target-profile filter, BANT, readiness and routing, as pure
functions over the `fct_lead_inputs` mart. Every threshold comes from `LeadRules`.

The rules run column-wise over all leads at once (a million clients bring about 200,000
leads): each function takes and returns pandas columns aligned on the leads' index. The
scalar helpers (budget_points, time_points, readiness) are the same rules for one value.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from fractions import Fraction
from functools import reduce
from typing import Any

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa  # type: ignore[import-untyped]  # no stubs shipped

from assets.config import LeadRules, TargetProfile
from assets.titles import infer_roles
from assets.vocabulary import (
    BANT_COMPONENTS,
    BantComponent,
    BuyerClass,
    ContactRole,
    Export,
    Readiness,
)

COMPONENTS = BANT_COMPONENTS
# The buyer class of each contact role.
BUYER_CLASSES = {
    ContactRole.DECISION_MAKER.value: BuyerClass.ECONOMIC.value,
    ContactRole.TECHNICAL.value: BuyerClass.TECHNICAL.value,
    # Procurement and heads of department screen suppliers: technical buyers in the
    # classic economic / technical / user split.
    ContactRole.INFLUENCER.value: BuyerClass.TECHNICAL.value,
    ContactRole.END_USER.value: BuyerClass.END_USER.value,
}
LEAD_RANKING_COLUMNS = [
    "lead_id",
    "as_of",
    "company_name",
    "excluded_reason",
    "bant_budget",
    "bant_authority",
    "bant_need",
    "bant_time",
    "bant_score",
    "bant_unknowns",
    "bant_rank",
    "bant_reason",
    "readiness",
    "buyer_class",
    "route",
    "next_action",
    "expected_deal_value",
    "decision_date",
    "lead_source",
]

# What each optional export contributes to the lead ranking: absent tonight, the ranking
# still runs on what there is, and the run log says what is missing.
MISSING_INPUT_NOTES = {
    Export.LEADS.value: "no leads to rank: lead_rankings is published empty",
    Export.DEALS.value: (
        "no won deals to derive the expected deal value from: a budget without a manager's "
        "override scores 1 and is listed in bant_unknowns"
    ),
    Export.PRODUCTS.value: (
        "no product catalog: leads are routed by product code, not product family"
    ),
}


def missing_input_notes(absent_sources: set[str]) -> dict[str, str]:
    """Per absent export the ranking depends on, what that means tonight."""
    return {
        source: f"{source}.csv was not in tonight's exports; {note}"
        for source, note in MISSING_INPUT_NOTES.items()
        if source in absent_sources
    }


# The next action of a lead outside the target profile.
OUTSIDE_PROFILE_ACTION = "none: outside the target profile"


def _numbers(values: pd.Series) -> pd.Series:
    """A column as float64, missing values (None, NA) as NaN."""
    return pd.to_numeric(values).astype("float64")


def _text(values: pd.Series) -> pd.Series:
    """A column as strings, missing values kept missing, so string operations work on
    any column (an all-None column arrives as object)."""
    return values.astype("str")


def _format(values: pd.Series, spec: str) -> pd.Series:
    """format(value, spec) for each value of a numeric column, on the same index.

    DuckDB's format() is built on fmt, which rounds correctly like Python's format (so
    '{:,.2f}' gives the same text), but works a column at a time. A cursor of the
    process's in-memory database: opening a database of its own costs more than the
    formatting, and a cursor keeps the registered frame private to this call."""
    numbers = pd.DataFrame({"value": _numbers(values).to_numpy()})
    with duckdb.default_connection().cursor() as con:
        con.register("numbers", numbers)
        text = con.execute("select format(?, value) as text from numbers", [f"{{:{spec}}}"])
        formatted = text.fetchnumpy()["text"]
    return pd.Series(formatted, index=values.index, dtype="str")


def _join(parts: Sequence[pd.Series], separator: str, index: pd.Index) -> pd.Series:
    """Per row, its present parts in order joined by separator; missing when none is."""
    joined = pd.Series(None, index=index, dtype="str")
    for part in parts:
        part = part.reindex(index)
        joined = (joined + separator + part).fillna(joined).fillna(part)
    return joined


def _first_match(
    conditions: Sequence[np.ndarray], choices: Sequence[Any], default: Any, size: int
) -> np.ndarray:
    """Per row the choice of the first true condition, else default (np.select, which
    refuses an empty list of conditions)."""
    if not conditions:
        return np.full(size, default)
    return np.select(conditions, choices, default)


def exclusion_reasons(leads: pd.DataFrame, profile: TargetProfile) -> pd.Series:
    """Why each lead is outside the ideal-customer profile, or missing. An unknown value
    does not exclude: the lead is scored and its unknowns say what to ask."""
    reasons = []
    for column, allowed in [("industry", profile.industries), ("region", profile.regions)]:
        if allowed:
            value = _text(leads[column])
            outside = value.notna() & ~value.isin(allowed)
            reasons.append(f"{column} " + value[outside] + " is not in the target profile")
    for column, low, high in [
        ("employees", profile.min_employees, profile.max_employees),
        ("annual_revenue", profile.min_annual_revenue, profile.max_annual_revenue),
    ]:
        value = _numbers(leads[column])
        # NaN compares false: an unknown size or revenue is never outside a bound.
        if low is not None:
            below = value[value < low]
            reasons.append(f"{column} " + _format(below, ",.0f") + f" below the minimum {low:,.0f}")
        if high is not None:
            above = value[value > high]
            reasons.append(
                f"{column} " + _format(above, ",.0f") + f" above the maximum {high:,.0f}"
            )
    return _join(reasons, "; ", leads.index)


def budget_points_of(
    budget: pd.Series, expected_deal_value: pd.Series, rules: LeadRules
) -> pd.Series:
    """Points for budget / expected deal value per lead (Int64), compared exactly in
    kopecks; missing when either is unknown (or the expected value is not positive)."""
    # round() in kopecks: np.rint rounds half to even as Python's round() does.
    budget_k = np.rint(_numbers(budget).to_numpy() * 100)
    expected_k = np.rint(_numbers(expected_deal_value).to_numpy() * 100)
    known = ~np.isnan(budget_k) & (expected_k > 0)  # NaN > 0 is false
    budget_k = np.where(known, budget_k, 0).astype(np.int64)
    expected_k = np.where(known, expected_k, 0).astype(np.int64)
    # budget / expected >= n / d  <=>  budget x d >= n x expected: integers, no float ratio.
    # int64 holds these products exactly while kopecks x denominator < 9.2 x 10^18.
    shares = [(Fraction(str(ratio)), points) for ratio, points in rules.budget_ratio_points]
    points = _first_match(
        [budget_k * share.denominator >= share.numerator * expected_k for share, _ in shares],
        [points for _, points in shares],
        1,
        len(known),
    )
    return pd.Series(points, index=budget.index, dtype="Int64").where(known)


def days_to_decision(decision_date: pd.Series, as_of: dt.date) -> pd.Series:
    """Whole days from as_of to each decision date (Int64, floored like Timedelta.days);
    missing when the date is unknown."""
    return (pd.to_datetime(decision_date) - pd.Timestamp(as_of)).dt.days.astype("Int64")


def time_points_of(days: pd.Series, rules: LeadRules) -> pd.Series:
    """Points by days to the decision (Int64); a date already past scores 1, an unknown
    one is missing."""
    known = days.notna().to_numpy()
    whole_days = days.fillna(-1).to_numpy("int64")
    points = _first_match(
        [(whole_days >= 0) & (whole_days <= limit) for limit, _ in rules.time_days_points],
        [points for _, points in rules.time_days_points],
        1,
        len(days),
    )
    return pd.Series(points, index=days.index, dtype="Int64").where(known)


def readiness_of(sources: pd.Series, rules: LeadRules) -> pd.Series:
    """hot / warm / cold by how each lead came, the first level listing its source; an
    unknown source counts as cold (we cannot assume it knows us)."""
    levels = list(rules.readiness_by_source)
    level = _first_match(
        [sources.isin(rules.readiness_by_source[name]).to_numpy() for name in levels],
        levels,
        Readiness.COLD.value,
        len(sources),
    )
    return pd.Series(level, index=sources.index, dtype="str")


def _scalar(points: pd.Series) -> int | None:
    value = points.iloc[0]
    return None if pd.isna(value) else int(value)


def budget_points(budget: Any, expected_deal_value: Any, rules: LeadRules) -> int | None:
    """budget_points_of for one lead: None when unknown."""
    return _scalar(budget_points_of(pd.Series([budget]), pd.Series([expected_deal_value]), rules))


def time_points(decision_date: Any, as_of: dt.date, rules: LeadRules) -> int | None:
    """time_points_of for one decision date: None when unknown."""
    return _scalar(time_points_of(days_to_decision(pd.Series([decision_date]), as_of), rules))


def readiness(source: Any, rules: LeadRules) -> str:
    """readiness_of for one lead source."""
    return str(readiness_of(pd.Series([source], dtype=object), rules).iloc[0])


def _points(values: pd.Series, points: Mapping[str, int]) -> pd.Series:
    """The points of each value (Int64); missing for a missing or unlisted value."""
    return pd.to_numeric(values.map(points)).astype("Int64")


def _override(leads: pd.DataFrame, component: str) -> pd.Series:
    """The manager's override of a component (Int64, truncated like int()), or missing."""
    return pd.Series(
        np.trunc(_numbers(leads[f"bant_{component}_override"])), index=leads.index
    ).astype("Int64")


def _component(
    component: str, override: pd.Series, points: pd.Series, detail: pd.Series
) -> tuple[pd.Series, pd.Series, pd.Series]:
    """One BANT component per lead: its value (the override, else the derived points,
    else 1), whether it is unknown, and its word in the reason, e.g. "B4 (budget ...)"."""
    overridden = override.notna()
    unknown = ~overridden & points.isna()
    value = override.fillna(points).fillna(1).astype("int64")
    note = (
        detail.reindex(points.index)
        .where(~overridden, "manager's override")
        .where(~unknown, f"{component} unknown")
    )
    word = component[0].upper() + value.astype("str") + " (" + note + ")"
    return value, unknown, word


def _unknown_lists(unknown: pd.DataFrame) -> pd.Series:
    """Per lead, its unknown components in COMPONENTS order, as one Arrow list column
    built from the flags rather than a Python list per lead."""
    flags = unknown[list(COMPONENTS)].to_numpy(bool)
    _, columns = np.nonzero(flags)  # row-major: lead by lead, components in order
    offsets = np.concatenate([[0], np.cumsum(flags.sum(axis=1))])
    lists = pa.ListArray.from_arrays(
        pa.array(offsets, pa.int32()),
        pa.array(np.array(COMPONENTS, dtype=object)[columns], pa.string()),
    )
    return pd.Series(lists, index=unknown.index, dtype=pd.ArrowDtype(lists.type))


def score_leads(leads: pd.DataFrame, as_of: dt.date, rules: LeadRules) -> pd.DataFrame:
    """BANT components (overrides win), score, unknowns, the reason in words and the
    buyer class, one row per lead."""
    crm_role = _text(leads["contact_role"])
    title = _text(leads["contact_title"])
    from_title = crm_role.isna()
    role = _text(crm_role.where(~from_title, infer_roles(title)))
    role_basis = ("title '" + title + "'").where(from_title, "CRM role")
    need = _text(leads["need"])
    budget = _numbers(leads["budget_reporting"])
    expected = _numbers(leads["expected_deal_value"])
    days = days_to_decision(leads["decision_date"], as_of)
    budget_points = budget_points_of(budget, expected, rules)
    # Budget words only where budget points are known: the ratio needs both amounts.
    known_budget = budget_points.notna()
    past = (days < 0).fillna(False)
    derived = {
        BantComponent.BUDGET: (
            budget_points,
            "budget "
            + _format((budget / expected)[known_budget], ".2f")
            + "x the expected deal "
            + _format(expected[known_budget], ",.2f"),
        ),
        BantComponent.AUTHORITY: (
            _points(role, rules.authority_points),
            role + " from " + role_basis,
        ),
        BantComponent.NEED: (_points(need, rules.need_points), "need " + need),
        BantComponent.TIME: (
            time_points_of(days, rules),
            ("decision in " + days.astype("str") + " days").where(
                ~past, "decision date " + (-days).astype("str") + " days past"
            ),
        ),
    }
    values, unknown, words = {}, {}, []
    for component in COMPONENTS:
        points, detail = derived[BantComponent(component)]
        values[component], unknown[component], word = _component(
            component, _override(leads, component), points, detail
        )
        words.append(word)
    score = pd.DataFrame(values).prod(axis=1)
    return pd.DataFrame(
        {
            **{f"bant_{c}": values[c] for c in COMPONENTS},
            "bant_score": score,
            "bant_unknowns": _unknown_lists(pd.DataFrame(unknown, index=leads.index)),
            "bant_reason": reduce(lambda left, right: left + " x " + right, words)
            + " = "
            + score.astype("str"),
            "buyer_class": role.map(BUYER_CLASSES),
        },
        index=leads.index,
    )


def routes(leads: pd.DataFrame, rules: LeadRules) -> pd.Series:
    """The key-account desk for big companies, else the desk of the lead's product line:
    its family, else its product code, else "general"."""
    employees = np.trunc(_numbers(leads["employees"]))  # int(): a count, truncated
    line = _text(leads["product_family"]).fillna(_text(leads["product_code"])).fillna("general")
    # Formatted once per product line, by str.format itself (escaped braces and all).
    desks = {name: rules.product_desk.format(family=name) for name in line.unique()}
    return line.map(desks).where(
        ~(employees >= rules.key_account_min_employees), rules.key_account_desk
    )


def rank_leads(leads: pd.DataFrame, as_of: dt.date, rules: LeadRules) -> pd.DataFrame:
    """One row per lead with the LEAD_RANKING_COLUMNS (bar run_id/config_version).

    Ranked leads (inside the target profile) get bant_rank 1..n by bant_score desc,
    then expected deal value desc, decision_date asc, lead_id; excluded ones none."""
    leads = leads.reset_index(drop=True)
    excluded = exclusion_reasons(leads, rules.target_profile)
    level = readiness_of(leads["lead_source"], rules)
    out = pd.concat(
        [
            pd.DataFrame(
                {
                    "lead_id": leads["lead_id"],
                    "as_of": as_of,
                    "company_name": leads["company_name"],
                    "excluded_reason": excluded,
                }
            ),
            score_leads(leads, as_of, rules),
            pd.DataFrame(
                {
                    "readiness": level,
                    "route": routes(leads, rules),
                    "next_action": level.map(rules.next_actions).where(
                        excluded.isna(), OUTSIDE_PROFILE_ACTION
                    ),
                    "expected_deal_value": leads["expected_deal_value"],
                    "decision_date": leads["decision_date"],
                    "lead_source": leads["lead_source"],
                }
            ),
        ],
        axis=1,
    )
    return _in_rank_order(out)


def _in_rank_order(out: pd.DataFrame) -> pd.DataFrame:
    """out with bant_rank: ranked leads first in rank order, then the excluded by lead_id.

    Only the sort keys are sorted; the full frame is reordered once at the end."""
    in_profile = out["excluded_reason"].isna()
    keys = pd.DataFrame(
        {
            "bant_score": out["bant_score"],
            "expected_deal_value": _numbers(out["expected_deal_value"]),
            "decision_date": pd.to_datetime(out["decision_date"]),
            "lead_id": out["lead_id"],
        }
    )
    ranked = (
        keys[in_profile]
        .sort_values(
            list(keys),
            ascending=[False, False, True, True],
            na_position="last",
            kind="mergesort",
        )
        .index
    )
    excluded = keys.loc[~in_profile, "lead_id"].sort_values(kind="mergesort").index
    rank = pd.Series(range(1, len(ranked) + 1), index=ranked, dtype="Int64")
    return (
        out.assign(bant_rank=rank)
        .loc[ranked.append(excluded), LEAD_RANKING_COLUMNS]
        .reset_index(drop=True)
    )
