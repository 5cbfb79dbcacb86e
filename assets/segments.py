"""Client segmentation rules as pure functions over DataFrames: growth potential
(docs/growth_potential.md), segments and ABC (docs/segments.md), tiers (docs/tiers.md).

Input is one row per client as the `dim_clients` mart holds it (revenue fields,
abc_class, revenue_rank, CRM attributes, weighted_open_pipeline). Nothing here does
I/O or knows Dagster; every threshold comes from `RulesConfig`.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable
from decimal import Decimal

import numpy as np
import pandas as pd

from assets.config import BALLAST_OVER_HEALTHY_SHARE, RulesConfig, SegmentRules, SizeTierRules
from assets.text import joined
from assets.vocabulary import (
    KEY_TIER_PREFIX,
    SEGMENTS,
    UPPER_SIZE_TIERS,
    AbcClass,
    CorporateTier,
    Export,
    MixStatus,
    Potential,
    Segment,
    SizeTier,
)

# Columns read from dim_clients.
ACCOUNT_ID = "account_id"
ABC_CLASS = "abc_class"
REVENUE_T12M = "revenue_t12m"
REVENUE_RANK = "revenue_rank"
GROWTH = "growth"
POTENTIAL = "potential"
EMPLOYEES = "employees"
ANNUAL_REVENUE = "annual_revenue"
PIPELINE = "weighted_open_pipeline"
ACTIVE_MONTHS = "active_months_24m"
LAST_INVOICE_DATE = "last_invoice_date"
# Columns this module adds.
SIZE_TIER = "size_tier"
CORPORATE_TIER = "corporate_tier"
GROWTH_POTENTIAL = "growth_potential"
GROWTH_POTENTIAL_REASON = "growth_potential_reason"
SEGMENT = "segment"
SEGMENT_REASON = "segment_reason"
SERVICE_MODEL = "service_model"

# What each optional export contributes to the profiles and segments: absent tonight,
# the rules run on what there is and the run log says which criterion cannot fire.
MISSING_INPUT_NOTES = {
    Export.DEALS.value: (
        "no open deals: the weighted-open-pipeline criterion of growth potential cannot fire"
    ),
}


def missing_input_notes(absent_sources: set[str]) -> dict[str, str]:
    """Per absent export the segmentation depends on, what that means tonight."""
    return {
        source: f"{source}.csv was not in tonight's exports; {note}"
        for source, note in MISSING_INPUT_NOTES.items()
        if source in absent_sources
    }


# The dim_clients columns profile_clients and segment_clients read: the asset reads only
# these (all 29 columns cost three times as long to read).
CLIENT_COLUMNS = (
    ACCOUNT_ID,
    ABC_CLASS,
    REVENUE_T12M,
    REVENUE_RANK,
    GROWTH,
    POTENTIAL,
    EMPLOYEES,
    ANNUAL_REVENUE,
    PIPELINE,
    ACTIVE_MONTHS,
    LAST_INVOICE_DATE,
)

# Whole numbers below this magnitude convert to int64 exactly; the rest (and nan, inf)
# are formatted by Python, as they are too rare to cost anything.
_INT64_LIMIT = 2.0**63


def _grouped(magnitude: pd.Series) -> pd.Series:
    """Non-negative integers as text with a space between groups of three digits
    (1234567 -> "1 234 567"): the digits above the last three, grouped alike, then those three."""
    text = magnitude.astype(str)
    above = magnitude >= 1000
    if above.any():
        upper = magnitude[above]
        text[above] = _grouped(upper // 1000) + " " + (upper % 1000).astype(str).str.zfill(3)
    return text


def _whole_numbers(
    values: pd.Series, fmt: Callable[[float], str], *, plus: bool = False, grouped: bool = False
) -> pd.Series:
    """`fmt`, a format to no decimals, over a column without a Python call per value
    (format() per row costs about 0.1 s per 100,000 clients): np.rint rounds halves to
    even as format() does, then sign ("-" by the sign bit, so -0.4 gives "-0"; "+" else
    when `plus`) and digits (spaced in threes when `grouped`) are joined."""
    whole = pd.Series(np.rint(values.to_numpy(dtype="float64")), index=values.index)
    exact = whole.abs() < _INT64_LIMIT
    magnitude = whole.abs().where(exact, 0).astype("int64")
    digits = _grouped(magnitude) if grouped else magnitude.astype(str)
    sign = pd.Series("-", index=values.index).where(np.signbit(whole), "+" if plus else "")
    text = sign + digits
    text[~exact] = values[~exact].map(fmt)
    return text


def _money(values: pd.Series) -> pd.Series:
    """Whole money with spaces between thousands: 1 234 567."""
    return _whole_numbers(values, lambda v: f"{v:,.0f}".replace(",", " "), grouped=True)


def _signed_percent(shares: pd.Series) -> pd.Series:
    """Shares as signed whole percentages, as f"{share:+.0%}" (which formats share x 100)."""
    return _whole_numbers(shares * 100, lambda v: f"{v:+.0f}", plus=True) + "%"


def size_tier(employees: pd.Series, annual_revenue: pd.Series, rules: SizeTierRules) -> pd.Series:
    """docs/tiers.md: by head count; unknown head count falls back to annual revenue bands."""
    emp = pd.to_numeric(employees, errors="coerce").astype("float64")
    rev = pd.to_numeric(annual_revenue, errors="coerce").astype("float64")
    # Largest tier first: the first bound reached wins.
    tiers = [SizeTier.ENTERPRISE, SizeTier.UMM, SizeTier.SMB]
    by_employees = np.select(
        [*(emp >= rules.employees[t] for t in tiers), emp >= 0],
        [*(t.value for t in tiers), SizeTier.SOHO.value],
        default="",
    )
    by_revenue = np.select(
        [*(rev >= rules.annual_revenue[t] for t in tiers), rev >= 0],
        [*(t.value for t in tiers), SizeTier.SOHO.value],
        default=SizeTier.UNKNOWN.value,
    )
    # A negative head count is an export defect, not a size: revenue bands decide instead.
    return pd.Series(
        np.where(emp >= 0, by_employees, by_revenue), index=employees.index, name=SIZE_TIER
    )


def corporate_tier(revenue_rank: pd.Series, rules: RulesConfig) -> pd.Series:
    """docs/tiers.md: top100 down to corporate_tiers.top_rank; key_1..key_<key_levels>
    splitting the n clients ranked key_first_rank..key_last_rank; mass."""
    tiers = rules.corporate_tiers
    rank = pd.to_numeric(revenue_rank, errors="coerce").astype("float64")
    in_key = (rank >= tiers.key_first_rank) & (rank <= tiers.key_last_rank)
    n_key = int(in_key.sum())
    level = 1 + pd.Series(
        np.floor(tiers.key_levels * (rank - tiers.key_first_rank) / max(n_key, 1)),
        index=rank.index,
    )
    result = np.where(
        rank <= tiers.top_rank,
        CorporateTier.TOP100.value,
        np.where(
            in_key,
            KEY_TIER_PREFIX + level.fillna(0).astype(int).astype(str).to_numpy(),
            CorporateTier.MASS.value,
        ),
    )
    return pd.Series(result, index=revenue_rank.index, name=CORPORATE_TIER)


def _spread(texts: pd.Series, rows: pd.RangeIndex) -> pd.Series:
    """`texts`, labelled by row position and built only for the rows that need them, over
    all `rows`: the empty string for the others. Building text only where it is read
    keeps the long-string work in proportion to the rows that show it."""
    return texts.reindex(rows, fill_value="")


def growth_potential(clients: pd.DataFrame, rules: RulesConfig) -> pd.DataFrame:
    """Has the client growth potential, and why (every criterion that fired;
    docs/growth_potential.md).

    Needs size_tier already set. A manager's `none` vetoes every other criterion.
    """
    gp = rules.growth_potential
    rows = pd.RangeIndex(len(clients))
    by_position = clients.set_axis(rows)
    potential = by_position[POTENTIAL].fillna("").str.lower()
    revenue = by_position[REVENUE_T12M].astype("float64")
    pipeline = by_position[PIPELINE].fillna(0).astype("float64")
    growth = by_position[GROWTH].astype("float64")
    tier = by_position[SIZE_TIER]
    high = potential.eq(Potential.HIGH)
    pipeline_fires = (pipeline > 0) & (pipeline >= gp.pipeline_share_of_revenue * revenue)
    growth_fires = (growth >= gp.growth_threshold) & (revenue > 0)
    white_space = tier.isin(UPPER_SIZE_TIERS) & by_position[ABC_CLASS].eq(AbcClass.C)
    # (criterion, what it says on the rows where it fires), in the order the reason
    # lists them.
    criteria = [
        (high, pd.Series("manager's potential is high", index=rows)[high]),
        (
            pipeline_fires,
            "weighted open pipeline "
            + _money(pipeline[pipeline_fires])
            + f" >= {gp.pipeline_share_of_revenue:.0%} of revenue_t12m "
            + _money(revenue[pipeline_fires]),
        ),
        (
            growth_fires,
            "growth " + _signed_percent(growth[growth_fires]) + f" >= {gp.growth_threshold:+.0%}",
        ),
        (white_space, tier[white_space].astype(str) + " company buying little (ABC class C)"),
    ]
    veto = potential.eq(Potential.NONE)
    has = ~veto & np.logical_or.reduce([fires for fires, _ in criteria])
    fired = joined(*(_spread(words, rows) for _, words in criteria))
    reasons = fired.where(fired != "", "no criterion met").where(
        ~veto, "manager's potential is none (veto)"
    )
    # The reasons as a list, so pandas types the column as it always has (float64 when
    # there are no clients).
    return pd.DataFrame(
        {GROWTH_POTENTIAL: has.astype(bool).to_numpy(), GROWTH_POTENTIAL_REASON: reasons.tolist()},
        index=clients.index,
    )


def vip_rank_cutoff(paying_clients: int, rules: SegmentRules) -> int:
    """ceil(segments.vip_top_share x clients with positive revenue), in exact decimal
    arithmetic (0.05 * 300 is 15.000000000000002 in floating point, whose ceiling is 16)."""
    return math.ceil(Decimal(str(rules.vip_top_share)) * paying_clients)


def assign_segments(clients: pd.DataFrame, rules: RulesConfig, as_of: dt.date) -> pd.DataFrame:
    """docs/segments.md: segment and segment_reason; rules in order, first match wins.

    Needs abc_class, revenue_rank, growth_potential, size_tier and the revenue fields.
    """
    seg = rules.segments
    rows = pd.RangeIndex(len(clients))
    by_position = clients.set_axis(rows)
    revenue = by_position[REVENUE_T12M].astype("float64")
    paying = int((revenue > 0).sum())
    cutoff = vip_rank_cutoff(paying, seg)
    abc = by_position[ABC_CLASS]
    rank = pd.to_numeric(by_position[REVENUE_RANK], errors="coerce").astype("float64")
    potential = by_position[GROWTH_POTENTIAL].astype(bool)
    active = by_position[ACTIVE_MONTHS].astype("int64")
    last_invoice = pd.to_datetime(by_position[LAST_INVOICE_DATE])
    lapsed_before = pd.Timestamp(as_of) - pd.Timedelta(days=seg.ballast_lapsed_days)
    one_off = active <= seg.ballast_max_active_months
    lapsed = last_invoice <= lapsed_before
    upper = by_position[SIZE_TIER].isin(UPPER_SIZE_TIERS)
    a_or_b = abc.isin([AbcClass.A, AbcClass.B])

    # (segment, its rule), in the order the rules are tried: the first match wins.
    first_match = [
        (Segment.BALLAST, abc.eq(AbcClass.C) & ~potential & (one_off | lapsed)),
        (Segment.VIP, abc.eq(AbcClass.A) & (rank <= cutoff)),
        (Segment.STRATEGIC, potential & (a_or_b | upper)),
    ]
    segment = np.select(
        [rule for _, rule in first_match],
        [name.value for name, _ in first_match],
        default=Segment.TYPICAL.value,
    )

    # Each segment's reason is built column-wise (see assets/text.py) over its own rows
    # only, and the pieces are put back in row order: building every reason for every
    # row and choosing would copy four long text columns.
    abc_text = abc.astype(str)
    ballast = segment == Segment.BALLAST.value
    ballast_why = (
        "last invoice "
        + last_invoice[ballast].dt.strftime("%Y-%m-%d").fillna("")
        + f", over {seg.ballast_lapsed_days} days before as_of"
    ).mask(
        one_off[ballast],
        active[ballast].astype(str) + f" active month(s) in {rules.revenue.activity_months}",
    )
    vip = segment == Segment.VIP.value
    # VIP ranks are known; int64 truncates as int() does.
    vip_rank = rank[vip].astype("int64").astype(str)
    strategic = segment == Segment.STRATEGIC.value
    basis = ("size tier " + by_position[SIZE_TIER][strategic].astype(str)).mask(
        a_or_b[strategic], "ABC class " + abc_text[strategic]
    )
    typical = segment == Segment.TYPICAL.value
    typical_why = pd.Series("no growth potential", index=rows)[typical].mask(
        potential[typical], "growth potential but neither class A/B nor UMM/enterprise"
    ) + pd.Series("", index=rows)[typical].mask(abc[typical].eq(AbcClass.C), ", buying regularly")
    reasons = pd.concat(
        [
            "ballast: ABC class C, no growth potential, " + ballast_why,
            "vip: ABC class A, revenue rank "
            + vip_rank
            + f" <= {cutoff} (top {seg.vip_top_share:.0%} of {paying} paying clients), "
            + "revenue_t12m "
            + _money(revenue[vip]),
            "strategic: growth potential ("
            + by_position[GROWTH_POTENTIAL_REASON][strategic].astype(str)
            + ") and "
            + basis,
            "typical: ABC class " + abc_text[typical] + ", " + typical_why,
        ]
    ).reindex(rows)
    return pd.DataFrame(
        {SEGMENT: segment, SEGMENT_REASON: reasons.set_axis(clients.index)}, index=clients.index
    )


def service_models(segment: pd.Series, rules: SegmentRules) -> pd.Series:
    """docs/segments.md: the service model per segment; ballast gets the reactivation campaign
    when ballast exceeds its healthy share."""
    ballast_share = float(segment.eq(Segment.BALLAST).mean()) if len(segment) else 0.0
    models = dict(rules.service_models)
    if ballast_share > rules.healthy_mix[Segment.BALLAST][1]:
        models[Segment.BALLAST.value] = models[BALLAST_OVER_HEALTHY_SHARE]
    return segment.map(models).rename(SERVICE_MODEL)


def profile_clients(clients: pd.DataFrame, rules: RulesConfig) -> pd.DataFrame:
    """Per client: size_tier, corporate_tier (docs/tiers.md) and growth potential
    (docs/growth_potential.md)."""
    out = clients[[ACCOUNT_ID]].copy()
    out[SIZE_TIER] = size_tier(clients[EMPLOYEES], clients[ANNUAL_REVENUE], rules.size_tiers)
    out[CORPORATE_TIER] = corporate_tier(clients[REVENUE_RANK], rules)
    potential = growth_potential(clients.assign(**{SIZE_TIER: out[SIZE_TIER]}), rules)
    return out.join(potential)


def segment_clients(
    clients: pd.DataFrame, profiles: pd.DataFrame, rules: RulesConfig, as_of: dt.date
) -> pd.DataFrame:
    """docs/segments.md per client: segment, segment_reason and service_model.

    `clients` are dim_clients rows, `profiles` the output of profile_clients.
    """
    merged = clients.merge(profiles, on=ACCOUNT_ID, how="left", validate="one_to_one")
    return merged[[ACCOUNT_ID]].join(_segments(merged, rules, as_of))


def profile_and_segment(clients: pd.DataFrame, rules: RulesConfig, as_of: dt.date) -> pd.DataFrame:
    """profile_clients with the columns of segment_clients, one row per client in the
    order of `clients` (dim_clients rows, account_id unique): the client_profiles table.

    The profiles are derived row by row from `clients`, so they are joined on the index;
    merging on account_id, as segment_clients must, would cost more than the rules.
    """
    profiles = profile_clients(clients, rules)
    with_profiles = clients.join(profiles.drop(columns=ACCOUNT_ID))
    return profiles.join(_segments(with_profiles, rules, as_of))


def _segments(clients: pd.DataFrame, rules: RulesConfig, as_of: dt.date) -> pd.DataFrame:
    """segment, segment_reason and service_model of profiled `clients`."""
    out = assign_segments(clients, rules, as_of)
    out[SERVICE_MODEL] = service_models(out[SEGMENT], rules.segments)
    return out


def segment_mix(segments: pd.DataFrame, rules: RulesConfig, top5_share: float) -> pd.DataFrame:
    """docs/segments.md: actual vs healthy share per segment, with the warning signals.

    `segments` needs segment and revenue_t12m, one row per client, and may carry
    revenue_at_risk (docs/retention.md), summed per segment.
    """
    seg = rules.segments
    total_clients = len(segments)
    revenue = segments[REVENUE_T12M].astype("float64")
    total_revenue = float(revenue[revenue > 0].sum())
    rows = []
    for name in SEGMENTS:
        mask = segments[SEGMENT].eq(name)
        clients = int(mask.sum())
        share = clients / total_clients if total_clients else 0.0
        low, high = seg.healthy_mix[name]
        status = (
            MixStatus.BELOW
            if share < low
            else MixStatus.ABOVE
            if share > high
            else MixStatus.WITHIN
        ).value
        signal = ""
        if name == Segment.BALLAST and status == MixStatus.ABOVE:
            signal = (
                "too much ballast: managers are not developing clients; run a reactivation campaign"
            )
        elif name == Segment.VIP and status == MixStatus.ABOVE:
            signal = "too many VIPs: dangerous dependence on a few clients"
        elif status != MixStatus.WITHIN:
            signal = f"{name} share {share:.1%} is {status} the healthy {low:.0%}-{high:.0%}"
        seg_revenue = float(revenue[mask].sum())
        rows.append(
            {
                SEGMENT: name,
                "clients": clients,
                "client_share": share,
                "healthy_min_share": low,
                "healthy_max_share": high,
                "mix_status": status,
                "revenue_t12m": round(seg_revenue, 2),
                "revenue_share": seg_revenue / total_revenue if total_revenue else 0.0,
                "revenue_at_risk": round(
                    float(segments.loc[mask, "revenue_at_risk"].astype("float64").sum())
                    if "revenue_at_risk" in segments
                    else 0.0,
                    2,
                ),
                "signal": signal,
            }
        )
    mix = pd.DataFrame(rows)
    if top5_share > seg.dangerous_top5_share:
        is_vip = mix[SEGMENT].eq(Segment.VIP)
        mix.loc[is_vip, "signal"] = (
            mix.loc[is_vip, "signal"]
            .str.cat(
                [
                    f"top-5 clients hold {top5_share:.0%} of revenue (> "
                    f"{seg.dangerous_top5_share:.0%}): dangerous dependence"
                ],
                sep="; ",
            )
            .str.strip("; ")
        )
    mix["top5_share"] = top5_share
    return mix
