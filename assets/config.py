"""The business rules' thresholds (config/segmentation.yml) as one typed, frozen object."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

DEFAULT_RULES_PATH = Path(__file__).resolve().parents[1] / "config" / "segmentation.yml"
SEGMENTS = ("vip", "strategic", "typical", "ballast")


@dataclass(frozen=True)
class RevenueRules:
    reporting_currency: str
    window_months: int
    activity_months: int
    overdue_days: int


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

    def dbt_vars(self, as_of: dt.date) -> dict[str, Any]:
        """The thresholds the dbt marts need, passed as `--vars` on every build."""
        return {
            "as_of": as_of.isoformat(),
            "reporting_currency": self.revenue.reporting_currency,
            "window_months": self.revenue.window_months,
            "activity_months": self.revenue.activity_months,
            "overdue_days": self.revenue.overdue_days,
            "abc_a_share": self.abc.a_share,
            "abc_b_share": self.abc.b_share,
            "stage_probabilities": dict(self.growth_potential.stage_probabilities),
        }


def load_rules(path: Path = DEFAULT_RULES_PATH) -> RulesConfig:
    raw = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    try:
        segments = raw["segments"]
        healthy = {k: (float(v[0]), float(v[1])) for k, v in segments["healthy_mix"].items()}
        if set(healthy) != set(SEGMENTS):
            raise ValueError(f"segments.healthy_mix must list exactly {', '.join(SEGMENTS)}")
        config = RulesConfig(
            version=str(raw["version"]),
            revenue=RevenueRules(**raw["revenue"]),
            abc=AbcRules(**raw["abc"]),
            growth_potential=GrowthPotentialRules(**raw["growth_potential"]),
            segments=SegmentRules(**{**segments, "healthy_mix": healthy}),
            size_tiers=SizeTierRules(**raw["size_tiers"]),
            corporate_tiers=CorporateTierRules(**raw["corporate_tiers"]),
            quality=QualityRules(**raw["quality"]),
        )
    except (KeyError, TypeError) as exc:
        raise ValueError(f"{path}: invalid rules config: {exc}") from exc
    if not 0 < config.abc.a_share < config.abc.b_share <= 1:
        raise ValueError(f"{path}: abc shares must satisfy 0 < a_share < b_share <= 1")
    return config
