"""The rules' config file loads into one typed object and feeds dbt its thresholds."""

import datetime as dt

import pytest
import yaml

from assets.config import DEFAULT_RULES_PATH, load_rules


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


def _write(tmp_path, mutate) -> str:
    raw = yaml.safe_load(DEFAULT_RULES_PATH.read_text())
    mutate(raw)
    path = tmp_path / "rules.yml"
    path.write_text(yaml.safe_dump(raw))
    return path


def test_missing_section_is_a_clear_error(tmp_path):
    path = _write(tmp_path, lambda raw: raw.pop("abc"))
    with pytest.raises(ValueError, match="invalid rules config: 'abc'"):
        load_rules(path)


def test_inconsistent_abc_shares_are_refused(tmp_path):
    path = _write(tmp_path, lambda raw: raw["abc"].update(a_share=0.97))
    with pytest.raises(ValueError, match="a_share < b_share"):
        load_rules(path)


def test_healthy_mix_must_name_every_segment(tmp_path):
    path = _write(tmp_path, lambda raw: raw["segments"]["healthy_mix"].pop("vip"))
    with pytest.raises(ValueError, match="healthy_mix must list exactly"):
        load_rules(path)
