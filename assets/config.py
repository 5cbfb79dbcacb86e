"""The business rules' thresholds (config/segmentation.yml) as one typed, frozen object.

The file is validated into pydantic models that forbid unknown keys, so a misspelt key,
a value of the wrong type, out of its range or outside its closed set is refused when
the rules load, with a message that names the file, the key path and what is allowed
(`RulesConfigError`, a ValueError).
"""

from __future__ import annotations

import datetime as dt
import types
import typing
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    GetCoreSchemaHandler,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_core import core_schema

from assets.vocabulary import (
    BOUNDED_SIZE_TIERS,
    OPEN_DEAL_STAGES,
    READINESS_LEVELS,
    RETENTION_FLAGS,
    SEGMENTS,  # also imported from here by pipelines/
    SEVERITIES,
    ContactRole,
    Export,
    LeadSource,
    Need,
    Readiness,
    RevenueSource,
    Segment,
    Severity,
    SizeTier,
)

DEFAULT_RULES_PATH = Path(__file__).resolve().parents[1] / "config" / "segmentation.yml"

# The export each revenue source reads revenue from.
REVENUE_EXPORTS = {
    RevenueSource.INVOICES.value: Export.INVOICE_LINES.value,
    RevenueSource.WON_DEALS.value: Export.DEALS.value,
}
# The key of segments.service_models used instead of ballast's own when ballast exceeds
# its healthy share (segments.healthy_mix.ballast).
BALLAST_OVER_HEALTHY_SHARE = "ballast_over_healthy_share"
SERVICE_MODEL_KEYS = (*SEGMENTS, BALLAST_OVER_HEALTHY_SHARE)


@dataclass(frozen=True)
class OneOf:
    """Annotated[str, OneOf(Vocabulary)]: a name of the vocabulary, kept as the plain
    string it is (so it reaches a published table as written), refused with the list of
    the allowed names otherwise."""

    names: type[StrEnum]

    def __get_pydantic_core_schema__(
        self, source: Any, handler: GetCoreSchemaHandler
    ) -> core_schema.CoreSchema:
        return core_schema.no_info_after_validator_function(
            lambda member: member.value, handler.generate_schema(self.names)
        )


SegmentName = Annotated[str, OneOf(Segment)]
SeverityName = Annotated[str, OneOf(Severity)]
ContactRoleName = Annotated[str, OneOf(ContactRole)]
NeedName = Annotated[str, OneOf(Need)]
ReadinessName = Annotated[str, OneOf(Readiness)]
LeadSourceName = Annotated[str, OneOf(LeadSource)]
RevenueSourceName = Annotated[str, OneOf(RevenueSource)]
SizeTierName = Annotated[str, OneOf(SizeTier)]
Share = Annotated[float, Field(ge=0, le=1)]
PositiveShare = Annotated[float, Field(gt=0, le=1)]
NonNegative = Annotated[float, Field(ge=0)]
Count = Annotated[int, Field(ge=0)]
PositiveCount = Annotated[int, Field(ge=1)]
# A threshold kept as the file gives it, whole or not (15 days, 15.5 days): an evidence
# text quotes it as written.
Quantity = Annotated[int | float, Field(ge=0)]
BantPoints = Annotated[int, Field(ge=1, le=5)]
Text = Annotated[str, Field(min_length=1)]


def _require_keys(value: Mapping[str, Any], allowed: tuple[str, ...]) -> None:
    """`value` must have exactly the keys `allowed`."""
    missing = [k for k in allowed if k not in value]
    unknown = [str(k) for k in value if k not in allowed]
    if missing or unknown:
        found = "; ".join(
            part
            for part in (
                f"missing {', '.join(missing)}" if missing else "",
                f"unknown {', '.join(unknown)}" if unknown else "",
            )
            if part
        )
        raise ValueError(f"must list exactly {', '.join(allowed)} ({found})")


def _require_increasing(value: Mapping[str, float], order: tuple[str, ...]) -> None:
    bounds = [value[k] for k in order]
    if any(low >= high for low, high in zip(bounds, bounds[1:], strict=False)):
        raise ValueError(
            f"must increase {' < '.join(order)}, not " + ", ".join(f"{k} {value[k]}" for k in order)
        )


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class RevenueRules(_Section):
    reporting_currency: Text
    window_months: PositiveCount  # revenue_t12m window
    activity_months: PositiveCount  # active_months_24m and the night's client base
    overdue_days: PositiveCount  # overdue_30_amount
    # invoices: billed invoice lines; won_deals: one revenue line per won CRM deal, for
    # a company without billing exports (dbt model int_revenue_lines).
    source: RevenueSourceName = RevenueSource.INVOICES.value

    @field_validator("reporting_currency", mode="before")
    @classmethod
    def _currency_code(cls, value: Any) -> Any:
        if isinstance(value, str):
            value = value.strip().upper()
            if not value.isalpha():
                raise ValueError(f"must be a currency code (letters only, e.g. RUB), not {value!r}")
        return value

    @field_validator("source", mode="before")
    @classmethod
    def _lower_case(cls, value: Any) -> Any:
        return value.strip().lower() if isinstance(value, str) else value

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


class AbcRules(_Section):
    """Cumulative revenue share *before* the client that closes class A and class B."""

    a_share: Share
    b_share: Share

    @model_validator(mode="after")
    def _ordered(self) -> AbcRules:
        if not 0 < self.a_share < self.b_share <= 1:
            raise ValueError(
                "shares must satisfy 0 < a_share < b_share <= 1, "
                f"not a_share {self.a_share}, b_share {self.b_share}"
            )
        return self


class GrowthPotentialRules(_Section):
    pipeline_share_of_revenue: NonNegative
    growth_threshold: float
    # Per open deal stage, the probability of a deal that has none.
    stage_probabilities: dict[str, Share]

    @field_validator("stage_probabilities")
    @classmethod
    def _open_stages(cls, value: dict[str, float]) -> dict[str, float]:
        unknown = [k for k in value if k not in OPEN_DEAL_STAGES]
        if unknown:
            raise ValueError(
                f"may list only the open deal stages {', '.join(OPEN_DEAL_STAGES)} "
                f"(unknown {', '.join(unknown)})"
            )
        return value


class SegmentRules(_Section):
    vip_top_share: PositiveShare
    ballast_max_active_months: Count
    ballast_lapsed_days: Count
    healthy_mix: dict[SegmentName, tuple[Share, Share]]  # share of clients: (min, max)
    dangerous_top5_share: Share
    service_models: dict[str, Text]

    @field_validator("healthy_mix")
    @classmethod
    def _every_segment(
        cls, value: dict[str, tuple[float, float]]
    ) -> dict[str, tuple[float, float]]:
        _require_keys(value, SEGMENTS)
        inverted = [f"{k} [{low}, {high}]" for k, (low, high) in value.items() if low > high]
        if inverted:
            raise ValueError(f"must give [min, max] with min <= max, not {', '.join(inverted)}")
        return value

    @field_validator("service_models")
    @classmethod
    def _every_model(cls, value: dict[str, str]) -> dict[str, str]:
        _require_keys(value, SERVICE_MODEL_KEYS)
        return value


class SizeTierRules(_Section):
    employees: dict[str, Count]  # lower bound of smb, umm, enterprise, by head count
    annual_revenue: dict[str, Quantity]  # the same, when employees is unknown

    @field_validator("employees", "annual_revenue")
    @classmethod
    def _bounds(cls, value: dict[str, Any]) -> dict[str, Any]:
        _require_keys(value, BOUNDED_SIZE_TIERS)
        _require_increasing(value, BOUNDED_SIZE_TIERS)
        return value


class CorporateTierRules(_Section):
    top_rank: PositiveCount
    key_first_rank: PositiveCount
    key_last_rank: PositiveCount
    key_levels: PositiveCount

    @model_validator(mode="after")
    def _ordered(self) -> CorporateTierRules:
        if not self.top_rank < self.key_first_rank <= self.key_last_rank:
            raise ValueError(
                "ranks must satisfy top_rank < key_first_rank <= key_last_rank, not "
                f"{self.top_rank}, {self.key_first_rank}, {self.key_last_rank}"
            )
        return self


class QualityRules(_Section):
    min_clients: Count
    max_drop_share: Share  # publication refused beyond this drop in clients or revenue


class FlagRule(_Section):
    severity: SeverityName
    action: Text  # the recommended retention action


class RevenueDeclineRule(FlagRule):
    max_recent_to_prior_year_ratio: Share
    max_growth: Annotated[float, Field(ge=-1, le=0)]


class LapsedRule(FlagRule):
    min_active_months_before_recent: PositiveCount


class PaymentDelayRule(FlagRule):
    max_avg_days_late: Quantity


class ContractExpiringRule(FlagRule):
    within_days: Count


class LowSatisfactionRule(FlagRule):
    max_nps: Annotated[int, Field(ge=0, le=10)]
    max_csat: Annotated[int, Field(ge=1, le=5)]
    complaint_within_days: PositiveCount


class NoContactRule(FlagRule):
    segments: tuple[SegmentName, ...]
    within_days: PositiveCount


class RetentionFlagRules(_Section):
    """One rule per flag of RetentionFlag, each with its own thresholds."""

    revenue_decline: RevenueDeclineRule
    lapsed: LapsedRule
    payment_delay: PaymentDelayRule
    contract_expiring: ContractExpiringRule
    product_contraction: FlagRule
    low_satisfaction: LowSatisfactionRule
    no_contact: NoContactRule
    decision_maker_lost: FlagRule
    ownership_change: FlagRule

    def __getitem__(self, flag: str) -> FlagRule:
        if flag not in RETENTION_FLAGS:
            raise KeyError(flag)
        rule: FlagRule = getattr(self, flag)
        return rule

    def items(self) -> Iterator[tuple[str, FlagRule]]:
        """(flag, rule) in the order of RETENTION_FLAGS."""
        return ((flag, self[flag]) for flag in RETENTION_FLAGS)


class RiskLevelRules(_Section):
    high_min_score: Count
    medium_min_score: Count
    high_flag_segments: tuple[SegmentName, ...]  # any high flag on these -> risk_level high

    @model_validator(mode="after")
    def _ordered(self) -> RiskLevelRules:
        if self.medium_min_score > self.high_min_score:
            raise ValueError(
                "scores must satisfy medium_min_score <= high_min_score, not "
                f"{self.medium_min_score}, {self.high_min_score}"
            )
        return self


class RetentionRules(_Section):
    recent_months: PositiveCount
    lapsed_lookback_months: PositiveCount
    severity_points: dict[SeverityName, Count]
    risk_level: RiskLevelRules
    flags: RetentionFlagRules

    @field_validator("severity_points")
    @classmethod
    def _every_severity(cls, value: dict[str, int]) -> dict[str, int]:
        _require_keys(value, SEVERITIES)
        return value

    @property
    def high_min_score(self) -> int:
        return self.risk_level.high_min_score

    @property
    def medium_min_score(self) -> int:
        return self.risk_level.medium_min_score

    @property
    def high_flag_segments(self) -> tuple[str, ...]:
        return self.risk_level.high_flag_segments


class TargetProfile(_Section):
    """The ideal-customer profile; an empty list or a null bound means any."""

    industries: tuple[str, ...] = ()
    regions: tuple[str, ...] = ()
    min_employees: Count | None = None
    max_employees: Count | None = None
    min_annual_revenue: Quantity | None = None
    max_annual_revenue: Quantity | None = None

    @field_validator("industries", "regions", mode="before")
    @classmethod
    def _none_is_any(cls, value: Any) -> Any:
        return () if value is None else value

    @field_validator("industries")
    @classmethod
    def _lower_case(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        return tuple(industry.lower() for industry in value)

    @model_validator(mode="after")
    def _bounds_ordered(self) -> TargetProfile:
        for low, high in (
            ("min_employees", "max_employees"),
            ("min_annual_revenue", "max_annual_revenue"),
        ):
            low_value, high_value = getattr(self, low), getattr(self, high)
            if low_value is not None and high_value is not None and low_value > high_value:
                raise ValueError(f"must satisfy {low} <= {high}, not {low_value}, {high_value}")
        return self


class LeadRules(_Section):
    target_profile: TargetProfile
    # (ratio, points), highest ratio first: budget / expected deal value >= ratio.
    budget_ratio_points: tuple[tuple[NonNegative, BantPoints], ...]
    authority_points: dict[ContactRoleName, BantPoints]
    need_points: dict[NeedName, BantPoints]
    # (days, points), nearest first: 0 <= days to the decision <= days.
    time_days_points: tuple[tuple[Count, BantPoints], ...]
    readiness_by_source: dict[ReadinessName, tuple[LeadSourceName, ...]]
    key_account_min_employees: Count
    key_account_desk: Text
    product_desk: Text  # may name the product line as {family}
    next_actions: dict[ReadinessName, Text]

    @field_validator("budget_ratio_points")
    @classmethod
    def _highest_first(cls, value: tuple[tuple[float, int], ...]) -> tuple[tuple[float, int], ...]:
        return tuple(sorted(value, reverse=True))

    @field_validator("time_days_points")
    @classmethod
    def _nearest_first(cls, value: tuple[tuple[int, int], ...]) -> tuple[tuple[int, int], ...]:
        return tuple(sorted(value))

    @field_validator("product_desk")
    @classmethod
    def _family_placeholder(cls, value: str) -> str:
        try:
            value.format(family="")
        except (KeyError, IndexError, ValueError) as exc:
            raise ValueError(
                f"may hold only the placeholder {{family}}, not {value!r} ({exc})"
            ) from exc
        return value

    @field_validator("next_actions")
    @classmethod
    def _every_level(cls, value: dict[str, str]) -> dict[str, str]:
        _require_keys(value, READINESS_LEVELS)
        return value


class FitTarget(_Section):
    """Clients a product family fits (docs/cross_sell.md): every condition given must hold; none
    given fits every client."""

    industries: tuple[str, ...] = ()
    size_tiers: tuple[SizeTierName, ...] = ()
    with_branches: bool = False

    @field_validator("industries")
    @classmethod
    def _lower_case(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        return tuple(industry.strip().lower() for industry in value)

    def words(self) -> str:
        """The target as a reason says it: "companies with branches, industry trade or
        government, size tier smb"."""
        parts = [
            *(["companies with branches"] if self.with_branches else []),
            *([f"industry {_one_of(self.industries)}"] if self.industries else []),
            *([f"size tier {_one_of(self.size_tiers)}"] if self.size_tiers else []),
        ]
        return ", ".join(parts) or "every client"


def _one_of(names: tuple[str, ...]) -> str:
    return names[0] if len(names) == 1 else f"{', '.join(names[:-1])} or {names[-1]}"


class UnlistedFamilies(StrEnum):
    EVERY_CLIENT = "every_client"
    SKIP = "skip"


class CrossSellRules(_Section):
    # Family name (as products.family has it, compared case-insensitively) -> targets.
    families: dict[str, tuple[FitTarget, ...]]
    unlisted_families: Annotated[str, OneOf(UnlistedFamilies)]

    @field_validator("families")
    @classmethod
    def _some_target(
        cls, value: dict[str, tuple[FitTarget, ...]]
    ) -> dict[str, tuple[FitTarget, ...]]:
        empty = [family for family, targets in value.items() if not targets]
        if empty:
            raise ValueError(
                f"each family needs at least one target ({{}} fits every client): {empty}"
            )
        return value

    def targets_for(self, family: str) -> tuple[FitTarget, ...]:
        """The targets of a catalogue family; () when it is not to be offered."""
        listed = {name.strip().casefold(): targets for name, targets in self.families.items()}
        targets = listed.get(family.strip().casefold())
        if targets is not None:
            return targets
        return (FitTarget(),) if self.unlisted_families == UnlistedFamilies.EVERY_CLIENT else ()

    def is_listed(self, family: str) -> bool:
        return family.strip().casefold() in {name.strip().casefold() for name in self.families}


class RulesConfig(_Section):
    # Stamped on every published row (config_version).
    version: Text
    revenue: RevenueRules
    abc: AbcRules
    growth_potential: GrowthPotentialRules
    segments: SegmentRules
    size_tiers: SizeTierRules
    corporate_tiers: CorporateTierRules
    quality: QualityRules
    retention: RetentionRules
    leads: LeadRules
    cross_sell: CrossSellRules

    @field_validator("version", mode="before")
    @classmethod
    def _number_is_text(cls, value: Any) -> Any:
        return str(value) if isinstance(value, int | float) else value

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


class RulesConfigError(ValueError):
    """The rules file cannot be used: each problem names its key path and what is allowed."""

    def __init__(self, path: Path | str, problems: list[str]) -> None:
        self.path = path
        self.problems = problems
        super().__init__(f"{path}: invalid rules config: " + "; ".join(problems))


# --- Turning pydantic's errors into "key: what is allowed" ----------------------------


def _unwrap(annotation: Any) -> tuple[Any, list[Any]]:
    """The type inside Annotated[...], and its constraints."""
    metadata: list[Any] = []
    while typing.get_origin(annotation) is Annotated:
        annotation, *extra = typing.get_args(annotation)
        for item in extra:
            metadata.extend(getattr(item, "metadata", [item]))
    return annotation, metadata


def _members(annotation: Any) -> list[Any]:
    """The members of a union (X | Y, Optional[X]), else [annotation]."""
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        return list(typing.get_args(annotation))
    return [annotation]


def _is_model(annotation: Any) -> bool:
    return isinstance(annotation, type) and issubclass(annotation, BaseModel)


def _bounds(metadata: list[Any]) -> str:
    """The numeric range of `metadata`'s constraints (pydantic's Ge, Gt, Le, Lt) in
    words: "between 0 and 1", "> 0 and <= 1"."""
    bound = {
        name: value
        for item in metadata
        for name in ("ge", "gt", "le", "lt")
        if (value := getattr(item, name, None)) is not None
    }
    if "ge" in bound and "le" in bound:
        return f"between {bound['ge']} and {bound['le']}"
    signs = {"ge": ">=", "gt": ">", "le": "<=", "lt": "<"}
    return " and ".join(f"{signs[name]} {value}" for name, value in bound.items())


def _names(annotation: Any, metadata: list[Any] | None = None) -> str | None:
    """The names a OneOf annotation allows, listed; None for any other annotation."""
    _, more = _unwrap(annotation)
    for item in [*(metadata or []), *more]:
        if isinstance(item, OneOf):
            return ", ".join(item.names)
    return None


def _describe(annotation: Any, metadata: list[Any] | None = None) -> str:
    """What a value of `annotation` may be, in words."""
    annotation, more = _unwrap(annotation)
    metadata = [*(metadata or []), *more]
    members = _members(annotation)
    if len(members) > 1:
        real = [m for m in members if m is not type(None)]
        if all(_unwrap(m)[0] in (int, float) for m in real) and len(real) > 1:
            text = _describe(float, metadata + [c for m in real for c in _unwrap(m)[1]])
        else:
            text = " or ".join(_describe(m, metadata) for m in real)
        return f"{text} or null" if len(real) < len(members) else text
    origin, args = typing.get_origin(annotation), typing.get_args(annotation)
    values = _names(annotation, metadata)
    if values is not None:
        return f"one of {values}"
    if annotation is bool:
        return "true or false"
    if annotation in (int, float):
        kind = "a whole number" if annotation is int else "a number"
        bounds = _bounds(metadata)
        return f"{kind} {bounds}" if bounds else kind
    if annotation is str:
        return "non-empty text" if any(getattr(m, "min_length", None) for m in metadata) else "text"
    if _is_model(annotation):
        return "a mapping with the keys " + ", ".join(annotation.model_fields)
    if origin is dict:
        keys = _names(args[0])
        keys_text = f"({keys})" if keys else "names"
        return f"a mapping of {keys_text} to {_describe(args[1])}"
    if origin is tuple and len(args) == 2 and args[1] is Ellipsis:
        return f"a list of {_describe(args[0])}"
    if origin is tuple:
        return "a pair [" + ", ".join(_describe(a) for a in args) + "]"
    return str(annotation)


def _locate(loc: tuple[int | str, ...]) -> tuple[str, Any, list[Any], Any]:
    """Walk `loc` from RulesConfig: the key path in words, the annotation and constraints
    at its end, and the annotation of the mapping that holds the last key."""
    annotation: Any = RulesConfig
    metadata: list[Any] = []
    parent: Any = None
    path = ""
    for part in loc:
        annotation, more = _unwrap(annotation)
        metadata = metadata + more
        if part == "[key]":  # pydantic's marker: the dict key itself was refused
            annotation, metadata = typing.get_args(parent)[0], []
            continue
        members = [m for m in _members(annotation) if m is not type(None)]
        if len(members) > 1 and isinstance(part, str):  # pydantic names the union member
            continue
        annotation = _unwrap(members[0])[0] if members else annotation
        parent = annotation
        if isinstance(part, int):
            path += f"[{part}]"
            args = typing.get_args(annotation)
            if len(args) == 2 and args[1] is Ellipsis:
                annotation = args[0]
            elif part < len(args):
                annotation = args[part]
            else:
                annotation = Any
            metadata = []
            continue
        path = f"{path}.{part}" if path else str(part)
        if _is_model(annotation):
            field = annotation.model_fields.get(str(part))
            annotation = field.annotation if field else None
            metadata = list(field.metadata) if field else []
        elif typing.get_origin(annotation) is dict:
            annotation, metadata = typing.get_args(annotation)[1], []
        else:
            annotation, metadata = Any, []
    return path, annotation, metadata, parent


def _shown(value: Any) -> str:
    if isinstance(value, str | int | float | bool) or value is None:
        return repr(value)
    if isinstance(value, list | tuple) and len(value) <= 6:
        return repr(list(value))
    return f"a {type(value).__name__}"


def _problems(error: ValidationError) -> list[str]:
    problems: list[str] = []
    for item in error.errors():
        loc = tuple(item["loc"])
        path, annotation, metadata, parent = _locate(loc)
        key = path or "the rules file"
        kind = item["type"]
        if kind == "missing":
            text = f"{key} is missing ({_describe(annotation, metadata)})"
        elif kind == "extra_forbidden":
            text = f"{key} is not a known key; allowed keys: " + ", ".join(parent.model_fields)
        elif loc and loc[-1] == "[key]":
            text = f"{key} is not a known key; allowed keys: {_names(annotation)}"
        elif kind in ("value_error", "assertion_error"):
            text = f"{key} {item['ctx']['error']}"
        else:
            text = f"{key} must be {_describe(annotation, metadata)}, not {_shown(item['input'])}"
        if text not in problems:  # a union reports each of its members' refusals
            problems.append(text)
    return problems


def load_rules(
    path: Path = DEFAULT_RULES_PATH, revenue_overrides: Mapping[str, str | None] | None = None
) -> RulesConfig:
    """The rules of `path`; `revenue_overrides` (e.g. {"source": "won_deals",
    "reporting_currency": "USD"}, from SEGMENTS_REVENUE_SOURCE and
    SEGMENTS_REPORTING_CURRENCY) replace keys of its revenue section, unless empty.
    A file that does not hold valid rules raises RulesConfigError."""
    try:
        raw = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise RulesConfigError(path, [f"not valid YAML: {exc}"]) from exc
    overrides = {k: v for k, v in (revenue_overrides or {}).items() if v}
    if overrides and isinstance(raw, dict) and isinstance(raw.get("revenue"), dict):
        raw = {**raw, "revenue": {**raw["revenue"], **overrides}}
    try:
        return RulesConfig.model_validate(raw)
    except ValidationError as exc:
        raise RulesConfigError(path, _problems(exc)) from exc
