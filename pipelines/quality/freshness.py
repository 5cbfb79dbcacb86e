"""Source freshness, as dbt declares it, evaluated each night and shown in the UI.

The rule lives once, in the dbt sources' `freshness` and `loaded_at_field`
(dbt_project/models/staging/billing/_billing__sources.yml); `dbt source freshness` would
apply it too, but it is not part of `dbt build`, and its verdict would stay in dbt's
artifacts. Here each source table with such a rule gets a non-blocking asset check on
its ingest asset: stale data is worth a warning in the UI, not a night without
segments (a replayed old night is "stale" by design).
"""

import datetime as dt
import json
from dataclasses import dataclass
from pathlib import Path

from dagster import (
    AssetCheckExecutionContext,
    AssetCheckResult,
    AssetChecksDefinition,
    AssetCheckSeverity,
    AssetKey,
    MetadataValue,
    asset_check,
)

from pipelines.db import fetch_one
from pipelines.resources import NightSettings, Warehouse

HOURS_PER_PERIOD = {"minute": 1 / 60, "hour": 1, "day": 24}


@dataclass(frozen=True)
class FreshnessRule:
    """One dbt source table's freshness: where its data is, what dates it, its limits."""

    asset_key: AssetKey
    relation: str  # schema.table in the warehouse
    loaded_at_field: str  # a SQL expression, as dbt takes it
    warn_after_hours: float | None
    error_after_hours: float | None

    @property
    def name(self) -> str:
        return f"{self.asset_key.path[-1]}_fresh"


@dataclass(frozen=True)
class FreshnessVerdict:
    passed: bool
    severity: AssetCheckSeverity
    age_hours: float | None
    summary: str


def _hours(threshold: dict | None) -> float | None:
    if not threshold or threshold.get("count") is None:
        return None
    return threshold["count"] * HOURS_PER_PERIOD[threshold["period"]]


def freshness_rules(manifest: dict) -> list[FreshnessRule]:
    """The dbt sources that declare both a freshness and a loaded_at_field."""
    rules = []
    for source in manifest["sources"].values():
        freshness = source.get("freshness") or {}
        warn, error = _hours(freshness.get("warn_after")), _hours(freshness.get("error_after"))
        if not source.get("loaded_at_field") or (warn is None and error is None):
            continue
        key = source.get("meta", {}).get("dagster", {}).get("asset_key")
        rules.append(
            FreshnessRule(
                asset_key=AssetKey(key or [source["source_name"], source["name"]]),
                relation=f"{source['schema']}.{source['identifier']}",
                loaded_at_field=source["loaded_at_field"],
                warn_after_hours=warn,
                error_after_hours=error,
            )
        )
    return rules


def judge(rule: FreshnessRule, latest: dt.datetime | None, now: dt.datetime) -> FreshnessVerdict:
    """dbt's semantics: stale past error_after is an error, past warn_after a warning."""
    if latest is None:
        # No rows tonight: a deployment whose revenue comes from won deals sends no
        # billing export, and one that needs it fails the night at the as_of already.
        return FreshnessVerdict(
            True, AssetCheckSeverity.WARN, None, f"{rule.relation} holds no row: not judged"
        )
    age = (now - latest).total_seconds() / 3600
    stated = f"newest {rule.loaded_at_field} is {latest:%Y-%m-%d %H:%M}, {age / 24:.1f} days old"
    for limit, severity in (
        (rule.error_after_hours, AssetCheckSeverity.ERROR),
        (rule.warn_after_hours, AssetCheckSeverity.WARN),
    ):
        if limit is not None and age > limit:
            return FreshnessVerdict(
                False, severity, age, f"{stated}: over the {limit / 24:g}-day limit"
            )
    return FreshnessVerdict(True, AssetCheckSeverity.WARN, age, f"{stated}: fresh")


def _reference_time(night: NightSettings) -> dt.datetime:
    """Now, or the end of the night a run replays (as_of set): a replay of last March is
    judged as of last March."""
    if night.as_of:
        try:
            return dt.datetime.combine(dt.date.fromisoformat(night.as_of), dt.time.max)
        except ValueError:
            pass  # the dbt step fails such a run with a clear message
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


def _build_check(rule: FreshnessRule) -> AssetChecksDefinition:
    limits = ", ".join(
        f"{word} after {hours / 24:g} days"
        for word, hours in (("warns", rule.warn_after_hours), ("errs", rule.error_after_hours))
        if hours is not None
    )

    @asset_check(
        asset=rule.asset_key,
        name=rule.name,
        blocking=False,
        description=(
            f"Source freshness from dbt (the source's `freshness` in dbt_project/models/"
            f"staging): the newest {rule.loaded_at_field} in {rule.relation} against the "
            f"run's time (a replayed night: its as_of); {limits}. Not blocking: stale "
            "exports still give a night's segments, with this check red in the UI."
        ),
    )
    def source_freshness(
        context: AssetCheckExecutionContext, night: NightSettings, warehouse: Warehouse
    ) -> AssetCheckResult:
        schema, table = rule.relation.split(".")
        with warehouse.connect(read_only=True) as con:
            loaded = fetch_one(
                con,
                "select 1 from information_schema.tables where table_schema = ? and table_name = ?",
                [schema, table],
            )
            sql = f"select max({rule.loaded_at_field}) from {rule.relation}"
            latest = fetch_one(con, sql)[0] if loaded else None
        now = _reference_time(night)
        verdict = judge(rule, latest, now)
        (context.log.info if verdict.passed else context.log.warning)(verdict.summary)
        return AssetCheckResult(
            passed=verdict.passed,
            severity=verdict.severity,
            description=verdict.summary,
            metadata={
                "newest": MetadataValue.text(str(latest) if latest else "none"),
                "judged_at": MetadataValue.text(f"{now:%Y-%m-%d %H:%M}"),
                "age_days": round(verdict.age_hours / 24, 1) if verdict.age_hours else 0.0,
                "warn_after_days": (rule.warn_after_hours or 0) / 24,
                "error_after_days": (rule.error_after_hours or 0) / 24,
            },
        )

    return source_freshness


def build_source_freshness_checks(manifest_path: Path) -> list[AssetChecksDefinition]:
    manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    return [_build_check(rule) for rule in freshness_rules(manifest)]
