"""The rules' config file loads into one typed object and feeds dbt its thresholds; a
bad file is refused with the file, the key path and what that key allows."""

import datetime as dt

import pytest
import yaml

from assets.config import DEFAULT_RULES_PATH, RulesConfigError, load_rules
from assets.vocabulary import RETENTION_FLAGS, RetentionFlag


def test_defaults_are_the_domain_thresholds():
    rules = load_rules()
    assert (rules.abc.a_share, rules.abc.b_share) == (0.80, 0.95)
    assert rules.segments.vip_top_share == 0.05
    assert rules.segments.healthy_mix["typical"] == (0.60, 0.70)
    assert rules.size_tiers.employees == {"smb": 10, "umm": 250, "enterprise": 1000}
    assert rules.growth_potential.stage_probabilities["negotiation"] == 0.7


def test_dbt_vars_carry_as_of_and_thresholds():
    variables = load_rules().dbt_vars(dt.date(2011, 12, 9))
    assert variables["as_of"] == "2011-12-09"
    assert variables["abc_a_share"] == 0.80
    assert variables["stage_probabilities"]["contract"] == 0.9


def test_names_from_a_closed_set_load_as_plain_strings():
    """They are written into published tables: an enum member there would be a str
    subclass, not the text itself."""
    rules = load_rules()
    retention = rules.retention
    assert type(retention.flags["lapsed"].severity) is str
    assert all(type(k) is str for k in retention.severity_points)
    assert all(type(s) is str for s in retention.high_flag_segments)
    assert all(type(k) is str for k in rules.segments.healthy_mix)
    assert all(type(k) is str for k in rules.leads.readiness_by_source)
    assert type(rules.revenue.source) is str


def test_flag_rules_are_listed_in_the_flags_order():
    flags = load_rules().retention.flags
    assert [name for name, _ in flags.items()] == list(RETENTION_FLAGS)
    assert flags[RetentionFlag.NO_CONTACT].segments == ("vip", "strategic")
    with pytest.raises(KeyError):
        flags["severity"]


def _write(tmp_path, mutate) -> str:
    raw = yaml.safe_load(DEFAULT_RULES_PATH.read_text())
    mutate(raw)
    path = tmp_path / "rules.yml"
    path.write_text(yaml.safe_dump(raw))
    return path


def _error(tmp_path, mutate) -> str:
    path = _write(tmp_path, mutate)
    with pytest.raises(RulesConfigError) as caught:
        load_rules(path)
    message = str(caught.value)
    assert message.startswith(f"{path}: invalid rules config: ")
    return message


def test_a_bad_file_raises_a_value_error_as_the_pipeline_expects():
    # pipelines/cli.py and resources.py catch ValueError
    assert issubclass(RulesConfigError, ValueError)


def test_unknown_key_is_named_with_the_keys_allowed_there(tmp_path):
    message = _error(tmp_path, lambda raw: raw["segments"].update(vip={"min_revenue_share": 0.3}))
    assert "segments.vip is not a known key" in message
    assert "allowed keys: vip_top_share, ballast_max_active_months, ballast_lapsed_days" in message


def test_misspelt_threshold_of_a_flag_is_refused(tmp_path):
    def misspell(raw):
        flag = raw["retention"]["flags"]["payment_delay"]
        flag["max_avg_day_late"] = flag.pop("max_avg_days_late")

    message = _error(tmp_path, misspell)
    assert "retention.flags.payment_delay.max_avg_day_late is not a known key" in message
    assert "allowed keys: severity, action, max_avg_days_late" in message
    assert "retention.flags.payment_delay.max_avg_days_late is missing" in message


def test_unknown_key_of_a_closed_set_names_the_set(tmp_path):
    message = _error(tmp_path, lambda raw: raw["segments"]["healthy_mix"].update(gold=[0, 1]))
    assert (
        "segments.healthy_mix.gold is not a known key; "
        "allowed keys: vip, strategic, typical, ballast"
    ) in message


def test_wrong_type_names_the_key_and_the_type_and_range_allowed(tmp_path):
    message = _error(tmp_path, lambda raw: raw["abc"].update(a_share="eighty"))
    assert "abc.a_share must be a number between 0 and 1, not 'eighty'" in message


def test_value_out_of_range_names_the_key_and_the_range(tmp_path):
    message = _error(tmp_path, lambda raw: raw["segments"].update(vip_top_share=1.5))
    assert "segments.vip_top_share must be a number > 0 and <= 1, not 1.5" in message
    message = _error(tmp_path, lambda raw: raw["leads"]["budget_ratio_points"].append([0.1, 7]))
    assert "leads.budget_ratio_points[4][1] must be a whole number between 1 and 5, not 7" in (
        message
    )


def test_value_outside_its_set_names_the_key_and_the_values_allowed(tmp_path):
    message = _error(
        tmp_path, lambda raw: raw["retention"]["flags"]["lapsed"].update(severity="critical")
    )
    assert (
        "retention.flags.lapsed.severity must be one of high, medium, low, not 'critical'"
    ) in message
    message = _error(
        tmp_path, lambda raw: raw["retention"]["risk_level"].update(high_flag_segments=["gold"])
    )
    assert (
        "retention.risk_level.high_flag_segments[0] must be one of vip, strategic, typical, "
        "ballast, not 'gold'"
    ) in message


def test_every_problem_of_the_file_is_listed(tmp_path):
    def two_mistakes(raw):
        raw["quality"]["max_drop_share"] = 2
        raw["revenue"]["source"] = "orders"

    message = _error(tmp_path, two_mistakes)
    assert "revenue.source must be one of invoices, won_deals, not 'orders'" in message
    assert "quality.max_drop_share must be a number between 0 and 1, not 2" in message


def test_missing_section_is_a_clear_error(tmp_path):
    message = _error(tmp_path, lambda raw: raw.pop("abc"))
    assert "abc is missing (a mapping with the keys a_share, b_share)" in message


def test_inconsistent_abc_shares_are_refused(tmp_path):
    message = _error(tmp_path, lambda raw: raw["abc"].update(a_share=0.97))
    assert "abc shares must satisfy 0 < a_share < b_share <= 1" in message


def test_healthy_mix_must_name_every_segment(tmp_path):
    message = _error(tmp_path, lambda raw: raw["segments"]["healthy_mix"].pop("vip"))
    assert (
        "segments.healthy_mix must list exactly vip, strategic, typical, ballast (missing vip)"
    ) in message


def test_every_flag_must_have_its_rule(tmp_path):
    message = _error(tmp_path, lambda raw: raw["retention"]["flags"].pop("lapsed"))
    assert "retention.flags.lapsed is missing" in message


def test_an_override_is_validated_like_the_file(tmp_path):
    with pytest.raises(RulesConfigError, match="revenue.source must be one of invoices, won_deals"):
        load_rules(revenue_overrides={"source": "orders"})
    rules = load_rules(revenue_overrides={"source": " Won_Deals ", "reporting_currency": "usd"})
    assert (rules.revenue.source, rules.revenue.reporting_currency) == ("won_deals", "USD")


def test_a_file_that_is_not_yaml_is_refused_naming_it(tmp_path):
    path = tmp_path / "rules.yml"
    path.write_text("abc: [0.8\n")
    with pytest.raises(RulesConfigError, match=f"{path}: invalid rules config: not valid YAML"):
        load_rules(path)
