"""One vocabulary: the closed sets of assets/vocabulary.py are the sets the export
contract accepts, the keys the rules config is written in, and the values the rules
write; a name added in one place and not the other fails here."""

import datetime as dt
from pathlib import Path

import pytest
import yaml

from assets import vocabulary as v
from assets.config import SERVICE_MODEL_KEYS, RetentionFlagRules, load_rules
from assets.retention import FLAG_RULES

CONTRACT = yaml.safe_load(
    (Path(__file__).resolve().parents[1] / "config" / "contract.yml").read_text(encoding="utf-8")
)["sources"]
RULES = load_rules()


def accepted(source: str, column: str) -> set[str]:
    return set(CONTRACT[source]["columns"][column]["values"])


@pytest.mark.parametrize(
    ("source", "column", "vocabulary"),
    [
        ("accounts", "potential", v.Potential),
        ("contacts", "role", v.ContactRole),
        ("leads", "contact_role", v.ContactRole),
        ("leads", "need", v.Need),
        ("leads", "source", v.LeadSource),
        ("deals", "stage", v.DealStage),
    ],
)
def test_the_vocabulary_is_what_the_export_contract_accepts(source, column, vocabulary):
    assert set(v.names(vocabulary)) == accepted(source, column)


def test_every_export_is_a_contract_source():
    assert set(v.names(v.Export)) == set(CONTRACT)


def test_the_tuples_hold_plain_strings_in_declaration_order():
    assert v.SEGMENTS == ("vip", "strategic", "typical", "ballast")
    assert v.RETENTION_FLAGS[0] == "revenue_decline"
    for names in (v.SEGMENTS, v.SIZE_TIERS, v.RETENTION_FLAGS, v.SEVERITIES, v.BUYER_CLASSES):
        assert all(type(name) is str for name in names)


def test_corporate_tiers_follow_the_number_of_key_levels():
    assert v.corporate_tiers(3) == ("top100", "mass", "key_1", "key_2", "key_3")
    assert v.key_tier(2) == "key_2"


def test_the_config_is_keyed_by_the_vocabulary():
    assert tuple(RULES.segments.healthy_mix) == v.SEGMENTS
    assert SERVICE_MODEL_KEYS[: len(v.SEGMENTS)] == v.SEGMENTS
    assert set(RULES.segments.service_models) == set(SERVICE_MODEL_KEYS)
    assert tuple(RULES.retention.severity_points) == v.SEVERITIES
    assert tuple(RetentionFlagRules.model_fields) == v.RETENTION_FLAGS
    assert set(RULES.leads.next_actions) == set(v.READINESS_LEVELS)
    assert set(RULES.leads.authority_points) == set(v.CONTACT_ROLES)
    assert set(RULES.size_tiers.employees) == set(v.BOUNDED_SIZE_TIERS)
    assert set(RULES.growth_potential.stage_probabilities) == set(v.OPEN_DEAL_STAGES)
    assert RULES.dbt_vars(dt.date(2026, 10, 31))["revenue_source"] in v.REVENUE_SOURCES


def test_every_flag_has_one_rule_function_in_the_flags_order():
    assert tuple(FLAG_RULES) == v.RETENTION_FLAGS
