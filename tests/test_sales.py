"""Cross-sell white space and the sales funnel (docs/cross_sell.md and docs/funnel.md) on the shared
end-to-end run of the sample, recomputed here independently with pandas from the export
CSVs and the rules file itself (not through `assets/`)."""

import datetime as dt

import duckdb
import numpy as np
import pandas as pd
import pytest
import yaml

from assets.config import DEFAULT_RULES_PATH

RULES = yaml.safe_load(DEFAULT_RULES_PATH.read_text(encoding="utf-8"))
OPEN_STAGES = [
    "first_contact",
    "needs_analysis",
    "presentation",
    "objections",
    "negotiation",
    "contract",
]


def published(e2e_run, sql: str) -> pd.DataFrame:
    with duckdb.connect(str(e2e_run["publish"]), read_only=True) as con:
        return con.sql(sql).df()


@pytest.fixture(scope="module")
def as_of(e2e_run) -> dt.date:
    return published(e2e_run, "select as_of from release")["as_of"].iat[0].date()


@pytest.fixture(scope="module")
def segments(e2e_run) -> pd.DataFrame:
    return published(e2e_run, "select * from client_segments").set_index("account_id")


def window_start(as_of: dt.date) -> pd.Timestamp:
    return pd.Timestamp(as_of) - pd.DateOffset(months=RULES["revenue"]["window_months"])


# --- cross-sell ---------------------------------------------------------------------


@pytest.fixture(scope="module")
def expected_white_space(e2e_run, as_of, segments) -> pd.DataFrame:
    exports = e2e_run["exports"]
    lines = pd.read_csv(exports / "invoice_lines.csv", dtype=str)
    lines["amount"] = pd.to_numeric(lines["amount"], errors="coerce")
    lines["invoice_date"] = pd.to_datetime(
        lines["invoice_date"], format="%Y-%m-%d", errors="coerce"
    )
    lines = lines.dropna(subset=["amount", "invoice_date", "account_id"])
    lines = lines[
        (lines["status"] != "cancelled")
        & (lines["invoice_date"] > window_start(as_of))
        & (lines["invoice_date"] <= pd.Timestamp(as_of))
    ]
    fx = pd.read_csv(exports / "fx_rates.csv", parse_dates=["rate_date"])
    lines = pd.merge_asof(
        lines.sort_values("invoice_date"),
        fx.sort_values("rate_date"),
        left_on="invoice_date",
        right_on="rate_date",
        by="currency",
    )
    lines["rub"] = lines["amount"] * lines["rate_to_reporting"].where(lines["currency"] != "RUB", 1)
    products = pd.read_csv(exports / "products.csv", dtype=str).set_index("product_code")
    lines["family"] = lines["product_code"].map(products["family"])
    base = segments[["industry", "size_tier"]].copy()
    base["industry"] = base["industry"].fillna("unknown").replace("", "unknown")
    base["peer_group"] = base["industry"] + " / " + base["size_tier"]
    lines = lines[lines["account_id"].isin(base.index) & lines["family"].notna()]
    per_family = lines.groupby(["account_id", "family"])["rub"].sum().reset_index()
    per_family["peer_group"] = per_family["account_id"].map(base["peer_group"])
    bought = per_family[per_family["rub"] > 0]
    adopters = bought.groupby(["peer_group", "family"]).size()
    peer_revenue = per_family.groupby(["peer_group", "family"])["rub"].sum()
    group_size = base.groupby("peer_group").size()
    accounts = pd.read_csv(exports / "accounts.csv", dtype=str)
    parent = accounts["parent_account_id"].str.strip()
    has_branches = set(parent[parent.notna() & (parent != "") & (parent != accounts["account_id"])])
    owned = set(zip(bought["account_id"], bought["family"], strict=True))
    rows = []
    for family in sorted(products["family"].dropna().unique()):
        targets = RULES["cross_sell"]["families"].get(family, [{}])
        for account, client in base.iterrows():
            fits = any(
                (not t.get("industries") or client.industry in t["industries"])
                and (not t.get("size_tiers") or client.size_tier in t["size_tiers"])
                and (not t.get("with_branches") or account in has_branches)
                for t in targets
            )
            if fits and (account, family) not in owned:
                key = (client.peer_group, family)
                rows.append(
                    {
                        "account_id": account,
                        "product_family": family,
                        "peer_group": client.peer_group,
                        "peer_group_clients": int(group_size[client.peer_group]),
                        "peer_group_adopters": int(adopters.get(key, 0)),
                        "peer_revenue": float(peer_revenue.get(key, 0.0)),
                    }
                )
    expected = pd.DataFrame(rows)
    expected["share"] = expected["peer_group_adopters"] / expected["peer_group_clients"]
    expected = expected.sort_values(
        ["account_id", "share", "peer_revenue", "product_family"],
        ascending=[True, False, False, True],
    )
    expected["rank_for_client"] = expected.groupby("account_id").cumcount() + 1
    return expected.set_index(["account_id", "product_family"]).sort_index()


@pytest.fixture(scope="module")
def cross_sell(e2e_run) -> pd.DataFrame:
    frame = published(e2e_run, "select * from cross_sell")
    return frame.set_index(["account_id", "product_family"]).sort_index()


def test_cross_sell_rows_are_the_fitting_families_each_client_does_not_buy(
    cross_sell, expected_white_space
):
    assert len(cross_sell) > 1000
    assert list(cross_sell.index) == list(expected_white_space.index)


def test_adoption_shares_and_peer_counts_match_a_recomputation(cross_sell, expected_white_space):
    for column in ("peer_group", "peer_group_clients", "peer_group_adopters"):
        pd.testing.assert_series_equal(
            cross_sell[column], expected_white_space[column], check_dtype=False
        )
    np.testing.assert_allclose(
        cross_sell["adoption_share_in_peer_group"], expected_white_space["share"]
    )
    assert (cross_sell["adoption_share_in_peer_group"] > 0).any()


def test_ranks_per_client_follow_share_then_peer_revenue(cross_sell, expected_white_space):
    pd.testing.assert_series_equal(
        cross_sell["rank_for_client"], expected_white_space["rank_for_client"], check_dtype=False
    )


def test_client_segments_carry_the_top_family_and_the_white_space_count(
    segments, expected_white_space
):
    top = expected_white_space[expected_white_space["rank_for_client"] == 1].reset_index()
    expected_top = top.set_index("account_id")["product_family"].reindex(segments.index)
    counts = expected_white_space.groupby(level="account_id").size().reindex(segments.index)
    assert (segments["top_cross_sell_family"].fillna("-") == expected_top.fillna("-")).all()
    assert (segments["white_space_families"] == counts.fillna(0)).all()


def test_every_cross_sell_reason_says_the_share_and_the_fit(cross_sell):
    sample = cross_sell.reset_index().iloc[0]
    assert sample.reason.startswith(
        f"{round(sample.adoption_share_in_peer_group * 100)}% of {sample.peer_group} clients "
        f"({sample.peer_group_adopters} of {sample.peer_group_clients}) buy {sample.product_family}"
    )
    assert cross_sell["reason"].str.contains("; fits ").all()


# --- funnel -------------------------------------------------------------------------


def size_tier(employees: float, annual_revenue: float) -> str:
    tiers = RULES["size_tiers"]
    for value, bounds in (
        (employees, tiers["employees"]),
        (annual_revenue, tiers["annual_revenue"]),
    ):
        if not np.isnan(value):
            for tier in ("enterprise", "umm", "smb"):
                if value >= bounds[tier]:
                    return tier
            return "soho"
    return "unknown"


@pytest.fixture(scope="module")
def closed_deals(e2e_run, as_of, segments) -> pd.DataFrame:
    exports = e2e_run["exports"]
    deals = pd.read_csv(exports / "deals.csv", dtype=str)
    for column in ("created_at", "closed_at"):
        deals[column] = pd.to_datetime(deals[column], format="%Y-%m-%d", errors="coerce")
    deals = deals[
        (deals["is_closed"] == "true")
        & (deals["closed_at"] > window_start(as_of))
        & (deals["closed_at"] <= pd.Timestamp(as_of))
    ].copy()
    accounts = pd.read_csv(exports / "accounts.csv", dtype=str).set_index("account_id")
    employees = pd.to_numeric(deals["account_id"].map(accounts["employees"]), errors="coerce")
    revenue = pd.to_numeric(deals["account_id"].map(accounts["annual_revenue"]), errors="coerce")
    deals["size_tier"] = [size_tier(e, r) for e, r in zip(employees, revenue, strict=True)]
    deals["sub_segment"] = (
        deals["size_tier"]
        .map({"soho": "lower", "smb": "lower", "umm": "upper", "enterprise": "upper"})
        .fillna("unknown")
    )
    deals["segment"] = deals["account_id"].map(segments["segment"]).fillna("none")
    deals["all"] = "all"
    deals["won"] = deals["is_won"] == "true"
    deals["amount"] = pd.to_numeric(deals["amount"])
    deals["cycle"] = (deals["closed_at"] - deals["created_at"]).dt.days
    return deals


def test_sales_funnel_matches_a_recomputation_per_dimension(e2e_run, closed_deals):
    funnel = published(e2e_run, "select * from sales_funnel")
    assert set(funnel["dimension"]) == {"size_tier", "sub_segment", "segment", "all"}
    assert len(closed_deals) > 100
    for dimension, rows in funnel.groupby("dimension"):
        for r in rows.itertuples():
            deals = closed_deals[closed_deals[dimension] == r.group_value]
            assert r.deals_closed == len(deals), (dimension, r.group_value)
            assert r.deals_won == deals["won"].sum()
            assert r.win_rate == pytest.approx(deals["won"].mean())
            assert float(r.won_amount) == pytest.approx(deals.loc[deals["won"], "amount"].sum())
            assert r.median_cycle_days == pytest.approx(deals["cycle"].median())
        assert rows["deals_closed"].sum() == len(closed_deals)


def test_stage_conversion_matches_a_recomputation_from_the_stage_history(
    e2e_run, as_of, closed_deals
):
    history = pd.read_csv(e2e_run["exports"] / "deal_stage_history.csv", dtype=str)
    history["changed_at"] = pd.to_datetime(history["changed_at"], errors="coerce")
    history = history[
        history["stage"].isin(OPEN_STAGES)
        & (history["changed_at"] < pd.Timestamp(as_of) + pd.Timedelta(days=1))
    ]
    furthest = history["stage"].map(OPEN_STAGES.index).groupby(history["deal_id"]).max()
    deals = closed_deals[closed_deals["deal_id"].isin(furthest.index)].copy()
    deals["reached"] = np.where(deals["won"], 6, deals["deal_id"].map(furthest))
    stages = published(e2e_run, "select * from sales_funnel_stages where dimension = 'sub_segment'")
    for group in ("lower", "upper"):
        mine = deals[deals["sub_segment"] == group]
        got = stages[stages["group_value"] == group].sort_values("stage_order")
        expected = [int((mine["reached"] >= order).sum()) for order in range(7)]
        assert list(got["deals_reached"]) == expected
        assert expected[0] > expected[-1] > 0
        conversions = got["conversion_to_next"].iloc[:-1].to_numpy()
        np.testing.assert_allclose(conversions, np.array(expected[1:]) / np.array(expected[:-1]))


def test_the_sales_gates_ran_blocking_and_passed(e2e_run):
    checks = {
        evaluation.check_name: evaluation
        for evaluation in (
            event.event_specific_data
            for event in e2e_run["result"].all_events
            if event.event_type_value == "ASSET_CHECK_EVALUATION"
        )
    }
    for gate in (
        "cross_sell_quality_gate",
        "sales_funnel_quality_gate",
        "sales_funnel_stages_quality_gate",
    ):
        assert checks[gate].passed, gate
    manifest = published(e2e_run, "select table_name, audit_status from release_manifest")
    status = dict(zip(manifest["table_name"], manifest["audit_status"], strict=True))
    assert {status[t] for t in ("cross_sell", "sales_funnel", "sales_funnel_stages")} == {"passed"}
