"""Lead ranking (docs/leads.md): target-profile filter, BANT, readiness and routing, as pure
functions over the `fct_lead_inputs` mart. Every threshold comes from `LeadRules`.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Hashable, Mapping
from fractions import Fraction
from typing import Any

import pandas as pd

from assets.config import LeadRules, TargetProfile
from assets.titles import infer_role
from assets.vocabulary import (
    BANT_COMPONENTS,
    BantComponent,
    BuyerClass,
    ContactRole,
    Export,
    Readiness,
)

# One row of fct_lead_inputs: column name -> value.
Lead = Mapping[Hashable, Any]
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


def _missing(value: Any) -> bool:
    """None, NaN, NA or NaT (what a missing value becomes in a DataFrame column)."""
    return value is None or (not isinstance(value, list | tuple) and bool(pd.isna(value)))


def exclusion_reason(lead: Lead, profile: TargetProfile) -> str | None:
    """Why a lead is outside the ideal-customer profile, or None. An unknown value does
    not exclude: the lead is scored and its unknowns say what to ask."""
    reasons = []
    industry = lead.get("industry")
    if profile.industries and not _missing(industry) and industry not in profile.industries:
        reasons.append(f"industry {industry} is not in the target profile")
    region = lead.get("region")
    if profile.regions and not _missing(region) and region not in profile.regions:
        reasons.append(f"region {region} is not in the target profile")
    for column, low, high in [
        ("employees", profile.min_employees, profile.max_employees),
        ("annual_revenue", profile.min_annual_revenue, profile.max_annual_revenue),
    ]:
        value: Any = lead.get(column)
        if _missing(value):
            continue
        if low is not None and float(value) < low:
            reasons.append(f"{column} {float(value):,.0f} below the minimum {low:,.0f}")
        if high is not None and float(value) > high:
            reasons.append(f"{column} {float(value):,.0f} above the maximum {high:,.0f}")
    return "; ".join(reasons) or None


def budget_points(budget, expected_deal_value, rules: LeadRules) -> int | None:
    """Points for budget / expected deal value, compared exactly in kopecks; None when
    either is unknown (or the expected value is not positive)."""
    if _missing(budget) or _missing(expected_deal_value):
        return None
    budget_k = round(float(budget) * 100)
    expected_k = round(float(expected_deal_value) * 100)
    if expected_k <= 0:
        return None
    for ratio, points in rules.budget_ratio_points:
        share = Fraction(str(ratio))
        if budget_k * share.denominator >= share.numerator * expected_k:
            return points
    return 1


def time_points(decision_date, as_of: dt.date, rules: LeadRules) -> int | None:
    """Points by days from as_of to the decision; None when the date is unknown."""
    if _missing(decision_date):
        return None
    days = (pd.Timestamp(decision_date) - pd.Timestamp(as_of)).days
    if days < 0:
        return 1
    for limit, points in rules.time_days_points:
        if days <= limit:
            return points
    return 1


def readiness(source, rules: LeadRules) -> str:
    """hot / warm / cold by how the lead came; an unknown source counts as cold (we
    cannot assume it knows us)."""
    for level, sources in rules.readiness_by_source.items():
        if source in sources:
            return level
    return Readiness.COLD.value


def score_lead(lead: Lead, as_of: dt.date, rules: LeadRules) -> dict[str, Any]:
    """BANT components (overrides win), score, unknowns and the reason in words."""
    role: Any = lead.get("contact_role")
    role_basis = "CRM role"
    if _missing(role):
        role = infer_role(lead.get("contact_title"))
        role_basis = f"title '{lead.get('contact_title')}'"
    need: Any = lead.get("need")
    derived: dict[str, int | None] = {
        BantComponent.BUDGET: budget_points(
            lead.get("budget_reporting"), lead.get("expected_deal_value"), rules
        ),
        BantComponent.AUTHORITY: None if _missing(role) else rules.authority_points.get(role),
        BantComponent.NEED: None if _missing(need) else rules.need_points.get(need),
        BantComponent.TIME: time_points(lead.get("decision_date"), as_of, rules),
    }
    values: dict[str, int] = {}
    unknowns: list[str] = []
    words: list[str] = []
    for component in COMPONENTS:
        override: Any = lead.get(f"bant_{component}_override")
        if not _missing(override):
            values[component] = int(override)
            words.append(f"{component[0].upper()}{int(override)} (manager's override)")
            continue
        points = derived[component]
        if points is None:
            values[component] = 1
            unknowns.append(component)
            words.append(f"{component[0].upper()}1 ({component} unknown)")
            continue
        values[component] = points
        if component == BantComponent.BUDGET:
            ratio = float(lead["budget_reporting"]) / float(lead["expected_deal_value"])
            detail = (
                f"budget {ratio:.2f}x the expected deal {float(lead['expected_deal_value']):,.2f}"
            )
        elif component == BantComponent.AUTHORITY:
            detail = f"{role} from {role_basis}"
        elif component == BantComponent.NEED:
            detail = f"need {need}"
        else:
            days = (pd.Timestamp(lead["decision_date"]) - pd.Timestamp(as_of)).days
            detail = f"decision in {days} days" if days >= 0 else f"decision date {-days} days past"
        words.append(f"{component[0].upper()}{points} ({detail})")
    score = math.prod(values[c] for c in COMPONENTS)
    return {
        **{f"bant_{c}": values[c] for c in COMPONENTS},
        "bant_score": score,
        "bant_unknowns": unknowns,
        "bant_reason": " x ".join(words) + f" = {score}",
        "buyer_class": None if _missing(role) else BUYER_CLASSES.get(role),
    }


def route(employees, product_family, product_code, rules: LeadRules) -> str:
    if not _missing(employees) and int(employees) >= rules.key_account_min_employees:
        return rules.key_account_desk
    line = product_family if not _missing(product_family) else product_code
    return rules.product_desk.format(family=line if not _missing(line) else "general")


def rank_leads(leads: pd.DataFrame, as_of: dt.date, rules: LeadRules) -> pd.DataFrame:
    """One row per lead with the LEAD_RANKING_COLUMNS (bar run_id/config_version).

    Ranked leads (inside the target profile) get bant_rank 1..n by bant_score desc,
    then expected deal value desc, decision_date asc, lead_id; excluded ones none."""
    rows = []
    for lead in leads.to_dict("records"):
        excluded = exclusion_reason(lead, rules.target_profile)
        scored = score_lead(lead, as_of, rules)
        level = readiness(lead.get("lead_source"), rules)
        rows.append(
            {
                "lead_id": lead["lead_id"],
                "as_of": as_of,
                "company_name": lead.get("company_name"),
                "excluded_reason": excluded,
                **scored,
                "readiness": level,
                "route": route(
                    lead.get("employees"),
                    lead.get("product_family"),
                    lead.get("product_code"),
                    rules,
                ),
                "next_action": (
                    "none: outside the target profile" if excluded else rules.next_actions[level]
                ),
                "expected_deal_value": lead.get("expected_deal_value"),
                "decision_date": lead.get("decision_date"),
                "lead_source": lead.get("lead_source"),
            }
        )
    out = pd.DataFrame(rows, columns=[c for c in LEAD_RANKING_COLUMNS if c != "bant_rank"])
    ranked = out[out["excluded_reason"].isna()].copy()
    ranked["_edv"] = pd.to_numeric(ranked["expected_deal_value"]).astype("float64")
    ranked["_date"] = pd.to_datetime(ranked["decision_date"])
    ranked = ranked.sort_values(
        ["bant_score", "_edv", "_date", "lead_id"],
        ascending=[False, False, True, True],
        na_position="last",
        kind="mergesort",
    )
    out["bant_rank"] = pd.Series(range(1, len(ranked) + 1), index=ranked.index, dtype="Int64")
    out = out[LEAD_RANKING_COLUMNS]
    order = out["bant_rank"].fillna(len(out) + 1).astype("int64")
    return (
        out.assign(_o=order)
        .sort_values(["_o", "lead_id"])
        .drop(columns="_o")
        .reset_index(drop=True)
    )
