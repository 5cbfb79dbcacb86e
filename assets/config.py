"""The business rules' thresholds (config/segmentation.yml) as one typed, frozen object."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import yaml

DEFAULT_RULES_PATH = Path(__file__).resolve().parents[1] / "config" / "segmentation.yml"
SEGMENTS = ("vip", "strategic", "typical", "ballast")


REVENUE_SOURCES = ("invoices", "won_deals")
# The export each revenue source reads revenue from.
REVENUE_EXPORTS = {"invoices": "invoice_lines", "won_deals": "deals"}


@dataclass(frozen=True)
class RevenueRules:
    reporting_currency: str
    window_months: int
    activity_months: int
    overdue_days: int
    # invoices: billed invoice lines; won_deals: one revenue line per won CRM deal, for
    # a company without billing exports (dbt model int_revenue_lines).
    source: str = "invoices"

    @property
    def revenue_export(self) -> str:
        """The export the night's revenue comes from: invoice_lines or deals."""
        return REVENUE_EXPORTS[self.source]

    def export_is_required(self, name: str, required_file: bool) -> bool:
        """Whether a night needs the export `name` (the contract's required_file): the
        revenue source's export is required, the other revenue export is not."""
        if name == self.revenue_export:
            return True
        if name in REVENUE_EXPORTS.values():
            return False
        return required_file


@dataclass(frozen=True)
class AbcRules:
    a_share: float
    b_share: float


@dataclass(frozen=True)
class GrowthPotentialRules:
    pipeline_share_of_revenue: float
    growth_threshold: float
    stage_probabilities: dict[str, float]


@dataclass(frozen=True)
class SegmentRules:
    vip_top_share: float
    ballast_max_active_months: int
    ballast_lapsed_days: int
    healthy_mix: dict[str, tuple[float, float]]
    dangerous_top5_share: float
    service_models: dict[str, str]


@dataclass(frozen=True)
class SizeTierRules:
    employees: dict[str, int]  # lower bound of smb, umm, enterprise
    annual_revenue: dict[str, float]


@dataclass(frozen=True)
class CorporateTierRules:
    top_rank: int
    key_first_rank: int
    key_last_rank: int
    key_levels: int


@dataclass(frozen=True)
class QualityRules:
    min_clients: int
    max_drop_share: float  # publication refused beyond this drop in clients or revenue


@dataclass(frozen=True)
class FlagRule:
    severity: str  # high / medium / low
    action: str  # the recommended retention action
    thresholds: dict[str, Any]


@dataclass(frozen=True)
class RetentionRules:
    recent_months: int
    lapsed_lookback_months: int
    severity_points: dict[str, int]
    high_min_score: int
    medium_min_score: int
    high_flag_segments: tuple[str, ...]
    flags: dict[str, FlagRule]


@dataclass(frozen=True)
class TargetProfile:
    industries: tuple[str, ...]
    regions: tuple[str, ...]
    min_employees: int | None
    max_employees: int | None
    min_annual_revenue: float | None
    max_annual_revenue: float | None


@dataclass(frozen=True)
class LeadRules:
    target_profile: TargetProfile
    budget_ratio_points: tuple[tuple[float, int], ...]
    authority_points: dict[str, int]
    need_points: dict[str, int]
    time_days_points: tuple[tuple[int, int], ...]
    readiness_by_source: dict[str, tuple[str, ...]]
    key_account_min_employees: int
    key_account_desk: str
    product_desk: str
    next_actions: dict[str, str]


@dataclass(frozen=True)
class RulesConfig:
    version: str
    revenue: RevenueRules
    abc: AbcRules
    growth_potential: GrowthPotentialRules
    segments: SegmentRules
    size_tiers: SizeTierRules
    corporate_tiers: CorporateTierRules
    quality: QualityRules
    retention: RetentionRules
    leads: LeadRules

    def dbt_vars(self, as_of: dt.date) -> dict[str, Any]:
        """The thresholds the dbt marts need, passed as `--vars` on every build."""
        return {
            "as_of": as_of.isoformat(),
            "reporting_currency": self.revenue.reporting_currency,
            "revenue_source": self.revenue.source,
            "window_months": self.revenue.window_months,
            "activity_months": self.revenue.activity_months,
            "overdue_days": self.revenue.overdue_days,
            "recent_months": self.retention.recent_months,
            "lapsed_lookback_months": self.retention.lapsed_lookback_months,
            "abc_a_share": self.abc.a_share,
            "abc_b_share": self.abc.b_share,
            "stage_probabilities": dict(self.growth_potential.stage_probabilities),
        }


RETENTION_FLAGS = (
    "revenue_decline",
    "lapsed",
    "payment_delay",
    "contract_expiring",
    "product_contraction",
    "low_satisfaction",
    "no_contact",
    "decision_maker_lost",
    "ownership_change",
)
SEVERITIES = ("high", "medium", "low")


def _retention_rules(raw: dict[str, Any]) -> RetentionRules:
    flags = {}
    for name, spec in raw["flags"].items():
        spec = dict(spec)
        flags[name] = FlagRule(
            severity=spec.pop("severity"), action=spec.pop("action"), thresholds=spec
        )
    if set(flags) != set(RETENTION_FLAGS):
        raise ValueError(f"retention.flags must define exactly {', '.join(RETENTION_FLAGS)}")
    unknown = {f.severity for f in flags.values()} - set(SEVERITIES)
    if unknown or set(raw["severity_points"]) != set(SEVERITIES):
        raise ValueError(f"retention severities must be {', '.join(SEVERITIES)}")
    level = raw["risk_level"]
    return RetentionRules(
        recent_months=int(raw["recent_months"]),
        lapsed_lookback_months=int(raw["lapsed_lookback_months"]),
        severity_points={k: int(v) for k, v in raw["severity_points"].items()},
        high_min_score=int(level["high_min_score"]),
        medium_min_score=int(level["medium_min_score"]),
        high_flag_segments=tuple(level["high_flag_segments"]),
        flags=flags,
    )


def _lead_rules(raw: dict[str, Any]) -> LeadRules:
    profile = raw["target_profile"]
    return LeadRules(
        target_profile=TargetProfile(
            industries=tuple(str(i).lower() for i in profile.get("industries") or ()),
            regions=tuple(profile.get("regions") or ()),
            min_employees=profile.get("min_employees"),
            max_employees=profile.get("max_employees"),
            min_annual_revenue=profile.get("min_annual_revenue"),
            max_annual_revenue=profile.get("max_annual_revenue"),
        ),
        budget_ratio_points=tuple(
            sorted(((float(r), int(p)) for r, p in raw["budget_ratio_points"]), reverse=True)
        ),
        authority_points={k: int(v) for k, v in raw["authority_points"].items()},
        need_points={k: int(v) for k, v in raw["need_points"].items()},
        time_days_points=tuple(sorted((int(d), int(p)) for d, p in raw["time_days_points"])),
        readiness_by_source={k: tuple(v) for k, v in raw["readiness_by_source"].items()},
        key_account_min_employees=int(raw["key_account_min_employees"]),
        key_account_desk=str(raw["key_account_desk"]),
        product_desk=str(raw["product_desk"]),
        next_actions=dict(raw["next_actions"]),
    )


def _revenue_rules(raw: dict[str, Any], overrides: Mapping[str, str | None]) -> RevenueRules:
    """revenue: of the file, with the environment's overrides (SEGMENTS_REVENUE_SOURCE,
    SEGMENTS_REPORTING_CURRENCY, read in pipelines/settings.py) applied on top."""
    merged = {**raw, **{k: v for k, v in overrides.items() if v}}
    rules = RevenueRules(**merged)
    currency = str(rules.reporting_currency).strip().upper()
    if not currency.isalpha():
        raise ValueError(f"revenue.reporting_currency must be a currency code, not {currency!r}")
    source = str(rules.source).strip().lower()
    if source not in REVENUE_SOURCES:
        raise ValueError(
            f"revenue.source must be one of {', '.join(REVENUE_SOURCES)}, not {rules.source!r}"
        )
    return replace(rules, reporting_currency=currency, source=source)


def load_rules(
    path: Path = DEFAULT_RULES_PATH, revenue_overrides: Mapping[str, str | None] | None = None
) -> RulesConfig:
    """The rules of `path`; `revenue_overrides` (e.g. {"source": "won_deals",
    "reporting_currency": "USD"}) replace keys of its revenue section, unless empty."""
    raw = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    try:
        segments = raw["segments"]
        healthy = {k: (float(v[0]), float(v[1])) for k, v in segments["healthy_mix"].items()}
        if set(healthy) != set(SEGMENTS):
            raise ValueError(f"segments.healthy_mix must list exactly {', '.join(SEGMENTS)}")
        config = RulesConfig(
            version=str(raw["version"]),
            revenue=_revenue_rules(raw["revenue"], revenue_overrides or {}),
            abc=AbcRules(**raw["abc"]),
            growth_potential=GrowthPotentialRules(**raw["growth_potential"]),
            segments=SegmentRules(**{**segments, "healthy_mix": healthy}),
            size_tiers=SizeTierRules(**raw["size_tiers"]),
            corporate_tiers=CorporateTierRules(**raw["corporate_tiers"]),
            quality=QualityRules(**raw["quality"]),
            retention=_retention_rules(raw["retention"]),
            leads=_lead_rules(raw["leads"]),
        )
    except (KeyError, TypeError) as exc:
        raise ValueError(f"{path}: invalid rules config: {exc}") from exc
    if not 0 < config.abc.a_share < config.abc.b_share <= 1:
        raise ValueError(f"{path}: abc shares must satisfy 0 < a_share < b_share <= 1")
    return config
