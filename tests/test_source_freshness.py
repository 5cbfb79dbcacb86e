"""The billing source's dbt freshness rule, evaluated each night as a check in the UI."""

import datetime as dt
import json

import pytest
from dagster import AssetCheckSeverity, AssetKey

from pipelines.marts.dbt import ensure_manifest
from pipelines.quality.freshness import FreshnessRule, freshness_rules, judge

INVOICES = AssetKey(["raw", "invoice_lines"])
NOW = dt.datetime(2026, 12, 2, 6, 0)


@pytest.fixture(scope="module")
def rule() -> FreshnessRule:
    manifest = json.loads(ensure_manifest().read_text(encoding="utf-8"))
    rules = {r.asset_key: r for r in freshness_rules(manifest)}
    return rules[INVOICES]


def test_the_rule_is_the_dbt_sources_own(rule):
    """Read from the manifest, as dbt declares it: a second copy of the limits would drift."""
    assert rule.relation == "raw.invoice_lines"
    assert rule.loaded_at_field == "invoice_date::timestamp"
    assert (rule.warn_after_hours, rule.error_after_hours) == (14 * 24, 45 * 24)


@pytest.mark.parametrize(
    ("days_old", "passed", "severity"),
    [
        (3, True, AssetCheckSeverity.WARN),
        (14, True, AssetCheckSeverity.WARN),  # at the limit is still fresh, as in dbt
        (15, False, AssetCheckSeverity.WARN),
        (46, False, AssetCheckSeverity.ERROR),
    ],
)
def test_stale_past_warn_after_warns_and_past_error_after_errs(rule, days_old, passed, severity):
    verdict = judge(rule, NOW - dt.timedelta(days=days_old), NOW)
    assert (verdict.passed, verdict.severity) == (passed, severity)
    assert f"{days_old:.1f} days old" in verdict.summary


def test_no_rows_is_not_judged(rule):
    """A won-deals deployment sends no billing export: not a stale source."""
    verdict = judge(rule, None, NOW)
    assert verdict.passed and "not judged" in verdict.summary


def test_the_night_shows_the_billing_freshness_in_the_ui(e2e_run):
    """The shared night ran the check on raw/invoice_lines; its newest invoice date is the
    sample's end date, judged against the run's time."""
    evaluation = next(
        e
        for e in e2e_run["result"].get_asset_check_evaluations()
        if e.check_name == "invoice_lines_fresh"
    )
    assert evaluation.asset_key == INVOICES
    assert evaluation.metadata["newest"].value == "2026-10-31 00:00:00"
    age_days = (dt.datetime.now(dt.UTC).replace(tzinfo=None) - dt.datetime(2026, 10, 31)).days
    assert abs(evaluation.metadata["age_days"].value - age_days) <= 1
    assert evaluation.passed == (age_days <= 14)
