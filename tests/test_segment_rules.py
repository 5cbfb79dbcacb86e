"""The rules of docs/growth_potential.md, docs/segments.md and docs/tiers.md on tiny
hand-built tables: every expected value known by construction."""

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from assets import segments as s
from assets.config import load_rules

RULES = load_rules()
AS_OF = dt.date(2026, 10, 31)


def client(**overrides) -> dict:
    """A regular, unremarkable typical client; tests override what they exercise."""
    row = {
        "account_id": "c1",
        "abc_class": "B",
        "revenue_t12m": 1000.0,
        "revenue_rank": 50,
        "growth": 0.0,
        "potential": None,
        "employees": 50,
        "annual_revenue": None,
        "weighted_open_pipeline": 0.0,
        "active_months_24m": 20,
        "last_invoice_date": pd.Timestamp("2026-10-15"),
    }
    row.update(overrides)
    return row


def segment_of(rows: list[dict], paying_filler: int = 0) -> pd.DataFrame:
    """Profile and segment `rows`; `paying_filler` adds ranked C-class clients so the
    VIP cutoff, ceil(5% of paying clients), is what the test needs."""
    filler = [
        client(account_id=f"f{i:04d}", abc_class="C", revenue_t12m=1.0, revenue_rank=10_000 + i)
        for i in range(paying_filler)
    ]
    clients = pd.DataFrame(rows + filler)
    profiles = s.profile_clients(clients, RULES)
    segmented = s.segment_clients(clients, profiles, RULES, AS_OF)
    return segmented.merge(profiles, on="account_id").set_index("account_id")


@pytest.mark.parametrize(
    ("employees", "annual_revenue", "expected"),
    [
        (1, None, "soho"),
        (9, None, "soho"),
        (10, None, "smb"),
        (249, None, "smb"),
        (250, None, "umm"),
        (999, None, "umm"),
        (1000, None, "enterprise"),
        (0, 50e9, "soho"),  # employees known: revenue is not consulted
        (None, 29_999_999, "soho"),
        (None, 30e6, "smb"),
        (None, 2e9 - 1, "smb"),
        (None, 2e9, "umm"),
        (None, 10e9 - 1, "umm"),
        (None, 10e9, "enterprise"),
        (None, None, "unknown"),
        # A negative head count is a defect: the revenue bands decide, else unknown.
        (-5, 30e6, "smb"),
        (-5, None, "unknown"),
        (None, -1, "unknown"),
    ],
)
def test_size_tier_uses_employees_then_falls_back_to_revenue_bands(
    employees, annual_revenue, expected
):
    tier = s.size_tier(
        pd.Series([employees], dtype="Float64"),
        pd.Series([annual_revenue], dtype="Float64"),
        RULES.size_tiers,
    )
    assert tier.iat[0] == expected


def test_corporate_tier_splits_ranks_101_to_1000_into_three_key_levels():
    full = pd.Series(list(range(1, 1101)) + [None], dtype="Float64")
    tiers = s.corporate_tier(full, RULES)
    by_rank = dict(zip(full.iloc[:-1].astype(int), tiers.iloc[:-1], strict=True))
    assert by_rank[1] == by_rank[100] == "top100"
    assert by_rank[101] == by_rank[400] == "key_1"  # 1 + floor(3 * 299 / 900) = 1
    assert by_rank[401] == by_rank[700] == "key_2"
    assert by_rank[701] == by_rank[1000] == "key_3"
    assert by_rank[1001] == "mass"
    assert tiers.iat[-1] == "mass"  # no revenue rank


def test_key_levels_split_the_clients_actually_ranked_101_and_beyond():
    # 400 paying clients: n = 300 key accounts, 100 per level.
    tiers = s.corporate_tier(pd.Series(range(1, 401)), RULES)
    assert tiers.iloc[100:200].eq("key_1").all()  # ranks 101..200
    assert tiers.iloc[200:300].eq("key_2").all()
    assert tiers.iloc[300:400].eq("key_3").all()


def test_corporate_tier_with_fewer_than_a_hundred_clients_is_all_top100():
    assert set(s.corporate_tier(pd.Series([1, 2, 3]), RULES)) == {"top100"}


class TestGrowthPotential:
    def profile(self, **overrides) -> pd.Series:
        return segment_of([client(**overrides)]).loc["c1"]

    def test_a_plain_client_has_none(self):
        assert not self.profile().growth_potential

    def test_manager_high_potential(self):
        assert self.profile(potential="high").growth_potential

    def test_manager_none_vetoes_every_other_criterion(self):
        row = self.profile(
            potential="none",
            growth=0.5,
            weighted_open_pipeline=10_000.0,
            employees=5000,
            abc_class="C",
        )
        assert not row.growth_potential
        assert "veto" in row.growth_potential_reason

    def test_pipeline_at_exactly_25_percent_of_revenue(self):
        assert self.profile(weighted_open_pipeline=250.0).growth_potential
        assert not self.profile(weighted_open_pipeline=249.99).growth_potential

    def test_pipeline_must_be_positive(self):
        assert not self.profile(revenue_t12m=0.0, weighted_open_pipeline=0.0).growth_potential

    def test_growth_at_exactly_20_percent(self):
        assert self.profile(growth=0.20).growth_potential
        assert not self.profile(growth=0.1999).growth_potential

    def test_growth_needs_positive_revenue(self):
        assert not self.profile(growth=0.5, revenue_t12m=0.0).growth_potential

    def test_large_company_buying_little_is_white_space(self):
        assert self.profile(employees=250, abc_class="C").growth_potential
        assert not self.profile(employees=249, abc_class="C").growth_potential
        assert not self.profile(employees=5000, abc_class="B").growth_potential

    def test_reason_names_every_criterion_that_fired(self):
        reason = self.profile(potential="high", growth=0.3).growth_potential_reason
        assert "potential is high" in reason and "growth +30%" in reason


def test_vip_cutoff_is_exact_ceiling_of_five_percent():
    assert s.vip_rank_cutoff(300, RULES.segments) == 15  # 0.05 * 300 = 15.000000000000002
    assert s.vip_rank_cutoff(301, RULES.segments) == 16
    assert s.vip_rank_cutoff(1, RULES.segments) == 1
    assert s.vip_rank_cutoff(0, RULES.segments) == 0


class TestSegmentRules:
    def test_vip_is_class_a_within_the_rank_cutoff(self):
        # 40 paying clients: cutoff ceil(2.0) = 2.
        result = segment_of(
            [
                client(account_id="a1", abc_class="A", revenue_rank=1),
                client(account_id="a2", abc_class="A", revenue_rank=2),
                client(account_id="a3", abc_class="A", revenue_rank=3),
            ],
            paying_filler=37,
        )
        assert result.loc["a1", "segment"] == result.loc["a2", "segment"] == "vip"
        assert result.loc["a3", "segment"] == "typical"
        assert "rank 2 <= 2" in result.loc["a2", "segment_reason"]

    def test_vip_keeps_falling_revenue(self):
        result = segment_of([client(abc_class="A", revenue_rank=1, growth=-0.6)])
        assert result.loc["c1", "segment"] == "vip"

    def test_ballast_one_off_or_lapsed_class_c_without_potential(self):
        result = segment_of(
            [
                client(account_id="oneoff", abc_class="C", active_months_24m=1),
                client(
                    account_id="lapsed", abc_class="C", last_invoice_date=pd.Timestamp("2026-05-04")
                ),  # exactly 180 days
                client(
                    account_id="recent", abc_class="C", last_invoice_date=pd.Timestamp("2026-05-05")
                ),  # 179 days
                client(account_id="regular", abc_class="C", active_months_24m=2),
            ]
        )
        assert result.loc["oneoff", "segment"] == "ballast"
        assert result.loc["lapsed", "segment"] == "ballast"
        assert result.loc["recent", "segment"] == "typical"
        assert result.loc["regular", "segment"] == "typical"
        assert "1 active month(s)" in result.loc["oneoff", "segment_reason"]

    def test_growth_potential_saves_a_one_off_class_c_client_from_ballast(self):
        result = segment_of([client(abc_class="C", active_months_24m=1, potential="high")])
        assert result.loc["c1", "segment"] == "typical"  # potential, but C and small

    def test_ballast_rule_is_evaluated_before_vip(self):
        # Class C can never be VIP, so ballast first only matters for C: a lapsed
        # large C client with no potential (manager veto) is ballast, not strategic.
        result = segment_of(
            [client(abc_class="C", employees=5000, potential="none", active_months_24m=1)]
        )
        assert result.loc["c1", "segment"] == "ballast"

    def test_strategic_needs_potential_and_class_a_b_or_large_size(self):
        result = segment_of(
            [
                client(account_id="b_gp", abc_class="B", potential="high"),
                client(account_id="c_big", abc_class="C", employees=300),  # white space
                client(account_id="c_small_gp", abc_class="C", potential="high"),
                client(account_id="a_not_vip", abc_class="A", revenue_rank=30, growth=0.5),
            ],
            paying_filler=16,
        )  # 20 paying: cutoff 1
        assert result.loc["b_gp", "segment"] == "strategic"
        assert result.loc["c_big", "segment"] == "strategic"
        assert "size tier umm" in result.loc["c_big", "segment_reason"]
        assert result.loc["c_small_gp", "segment"] == "typical"
        assert result.loc["a_not_vip", "segment"] == "strategic"

    def test_vip_wins_over_strategic(self):
        result = segment_of([client(abc_class="A", revenue_rank=1, potential="high")])
        assert result.loc["c1", "segment"] == "vip"

    def test_service_model_follows_segment(self):
        result = segment_of([client(abc_class="A", revenue_rank=1), client(account_id="t")])
        assert result.loc["c1", "service_model"] == RULES.segments.service_models["vip"]
        assert result.loc["t", "service_model"] == RULES.segments.service_models["typical"]


def test_ballast_over_healthy_share_adds_reactivation_campaign():
    mostly_ballast = pd.Series(["ballast"] * 3 + ["typical"])
    healthy = pd.Series(["ballast"] + ["typical"] * 9)
    models = RULES.segments.service_models
    assert (
        s.service_models(mostly_ballast, RULES.segments).iat[0]
        == models["ballast_over_healthy_share"]
    )
    assert s.service_models(healthy, RULES.segments).iat[0] == models["ballast"]


def test_segment_mix_compares_actual_to_healthy_shares_and_raises_signals():
    segments = pd.DataFrame(
        {
            "segment": ["vip"] * 2 + ["strategic"] * 1 + ["typical"] * 3 + ["ballast"] * 4,
            "revenue_t12m": [400.0, 300.0, 100.0, 60.0, 40.0, 50.0, 10.0, 10.0, 20.0, 10.0],
        }
    )
    mix = s.segment_mix(segments, RULES, top5_share=0.62).set_index("segment")
    assert mix.loc["vip", "clients"] == 2
    assert mix.loc["vip", "client_share"] == pytest.approx(0.2)
    assert mix.loc["vip", "mix_status"] == "above"
    assert mix.loc["typical", "mix_status"] == "below"
    assert mix.loc["ballast", "mix_status"] == "above"
    assert "too much ballast" in mix.loc["ballast", "signal"]
    assert "too many VIPs" in mix.loc["vip", "signal"]
    assert "top-5 clients hold 62%" in mix.loc["vip", "signal"]
    assert mix.loc["vip", "revenue_share"] == pytest.approx(0.7)
    assert np.isclose(mix["client_share"].sum(), 1.0)


def test_thresholds_come_from_config():
    stricter = RULES.model_copy(
        update={"segments": RULES.segments.model_copy(update={"ballast_max_active_months": 3})}
    )
    clients = pd.DataFrame([client(abc_class="C", active_months_24m=3)])
    profiles = s.profile_clients(clients, stricter)
    assert s.segment_clients(clients, profiles, stricter, AS_OF)["segment"].iat[0] == "ballast"
    assert s.segment_clients(clients, profiles, RULES, AS_OF)["segment"].iat[0] == "typical"


def test_the_ballast_reason_names_the_configured_activity_window():
    """revenue.activity_months is the window active_months_24m counts in; the reason
    says the configured one, not the default's 24."""
    clients = pd.DataFrame([client(abc_class="C", active_months_24m=1)])
    profiles = s.profile_clients(clients, RULES)
    default = s.segment_clients(clients, profiles, RULES, AS_OF)["segment_reason"].iat[0]
    assert "1 active month(s) in 24" in default
    shorter = RULES.model_copy(
        update={"revenue": RULES.revenue.model_copy(update={"activity_months": 18})}
    )
    reason = s.segment_clients(clients, profiles, shorter, AS_OF)["segment_reason"].iat[0]
    assert "1 active month(s) in 18" in reason
