"""Cross-sell white space (docs/cross_sell.md) on hand-built cases: the fit
rules, peer groups, adoption shares, ranks and reasons of `assets/cross_sell.py`."""

import pandas as pd
import pytest

from assets.config import RulesConfigError, load_rules
from assets.cross_sell import CROSS_SELL_COLUMNS, white_space

RULES = load_rules().cross_sell


def clients(*rows):
    """(account_id, industry, size_tier, branch_count) rows."""
    return pd.DataFrame(rows, columns=["account_id", "industry", "size_tier", "branch_count"])


def revenue(*rows):
    """(account_id, product_family, revenue_t12m) rows; bought when revenue > 0."""
    frame = pd.DataFrame(rows, columns=["account_id", "product_family", "revenue_t12m"])
    frame["revenue_t12m"] = frame["revenue_t12m"].astype(float)
    return frame.assign(is_bought=frame["revenue_t12m"] > 0)


def rules_with(families: dict, unlisted: str = "skip"):
    return RULES.model_copy(update={"families": families, "unlisted_families": unlisted})


def listed(**families):
    """cross_sell rules from plain dicts, validated as the config file is."""
    from assets.config import CrossSellRules

    return CrossSellRules.model_validate({"families": families, "unlisted_families": "skip"})


def pairs(rows: pd.DataFrame) -> set[tuple[str, str]]:
    return set(zip(rows["account_id"], rows["product_family"], strict=True))


def test_a_family_bought_by_everyone_in_a_peer_group_leaves_no_white_space_there():
    base = clients(("a", "trade", "smb", 0), ("b", "trade", "smb", 0), ("c", "it", "smb", 0))
    bought = revenue(("a", "cloud_telephony", 100), ("b", "cloud_telephony", 50))
    rows = white_space(base, bought, ["cloud_telephony"], listed(cloud_telephony=[{}]))
    # trade / smb: both buy it, so no row; c (it / smb) has nobody buying it: share 0.
    assert pairs(rows) == {("c", "cloud_telephony")}
    row = rows.iloc[0]
    assert (row.peer_group, row.peer_group_clients, row.peer_group_adopters) == ("it / smb", 1, 0)
    assert row.adoption_share_in_peer_group == 0


def test_a_client_alone_in_its_peer_group_has_a_group_of_one():
    base = clients(("a", "trade", "smb", 0), ("b", "trade", "smb", 0), ("z", "mining", "umm", 0))
    bought = revenue(("a", "mobile", 10))
    rows = white_space(base, bought, ["mobile"], listed(mobile=[{}])).set_index("account_id")
    assert rows.loc["z", "peer_group"] == "mining / umm"
    assert rows.loc["z", "peer_group_clients"] == 1
    assert rows.loc["z", "adoption_share_in_peer_group"] == 0
    # b's peer a buys it: half of trade / smb.
    assert rows.loc["b", "adoption_share_in_peer_group"] == 0.5
    assert rows.loc["b", "reason"] == (
        "50% of trade / smb clients (1 of 2) buy mobile; fits every client"
    )


def test_net_revenue_not_above_zero_is_not_buying():
    """A family credited back to 0 (or below) in the window is white space again, and its
    client is no adopter."""
    base = clients(("a", "trade", "smb", 0), ("b", "trade", "smb", 0))
    bought = revenue(("a", "mobile", 0), ("b", "mobile", -5))
    rows = white_space(base, bought, ["mobile"], listed(mobile=[{}]))
    assert pairs(rows) == {("a", "mobile"), ("b", "mobile")}
    assert set(rows["peer_group_adopters"]) == {0}


def test_fit_targets_need_every_condition_and_any_target():
    targets = listed(
        conferencing=[
            {"with_branches": True, "industries": ["finance", "trade"]},
            {"with_branches": True, "size_tiers": ["smb"]},
        ]
    )
    base = clients(
        ("bank_with_branches", "finance", "enterprise", 3),
        ("bank_alone", "finance", "enterprise", 0),
        ("smb_with_branches", "it", "smb", 1),
        ("smb_alone", "it", "smb", 0),
    )
    rows = white_space(base, revenue(), ["conferencing"], targets)
    assert set(rows["account_id"]) == {"bank_with_branches", "smb_with_branches"}
    reasons = rows.set_index("account_id")["reason"]
    assert reasons["bank_with_branches"].endswith(
        "fits companies with branches, industry finance or trade"
    )
    assert reasons["smb_with_branches"].endswith("fits companies with branches, size tier smb")


def test_industries_compare_lower_cased_and_an_empty_industry_is_unknown():
    base = clients(("a", " Hospitality", "smb", 0), ("b", None, "smb", 0), ("c", "", "smb", 0))
    rows = white_space(
        base,
        revenue(),
        ["wifi_hotspot", "mobile"],
        listed(wifi_hotspot=[{"industries": ["HOSPITALITY"]}], mobile=[{}]),
    )
    assert pairs(rows) == {("a", "wifi_hotspot"), ("a", "mobile"), ("b", "mobile"), ("c", "mobile")}
    groups = rows.set_index(["account_id", "product_family"])["peer_group"]
    assert groups[("b", "mobile")] == groups[("c", "mobile")] == "unknown / smb"
    assert groups[("b", "mobile")] != groups[("a", "mobile")]


def test_ranks_follow_share_then_peer_revenue_then_name():
    base = clients(*[(f"p{i}", "trade", "smb", 0) for i in range(4)], ("x", "trade", "smb", 0))
    bought = revenue(
        ("p0", "mobile", 10),
        ("p1", "mobile", 10),  # 2 of 5 buy mobile
        ("p2", "connectivity", 500),
        ("p3", "apps", 1),  # 1 of 5 each, revenue 500 vs 1
    )
    families = ["apps", "connectivity", "mobile", "vdc"]
    rows = white_space(base, bought, families, listed(**{f: [{}] for f in families}))
    mine = rows[rows["account_id"] == "x"].sort_values("rank_for_client")
    assert list(mine["product_family"]) == ["mobile", "connectivity", "apps", "vdc"]
    assert list(mine["rank_for_client"]) == [1, 2, 3, 4]
    assert list(mine["adoption_share_in_peer_group"]) == [0.4, 0.2, 0.2, 0.0]
    assert list(rows.columns) == CROSS_SELL_COLUMNS


def test_families_the_config_does_not_list_follow_unlisted_families():
    base = clients(("a", "trade", "smb", 0))
    offered = white_space(base, revenue(), ["GTX"], rules_with({}, "every_client"))
    assert pairs(offered) == {("a", "GTX")}
    assert offered["reason"].iat[0].endswith("fits every client")
    assert white_space(base, revenue(), ["GTX"], rules_with({}, "skip")).empty


def test_listed_family_names_match_the_catalogue_case_insensitively():
    base = clients(("a", "trade", "smb", 0))
    rows = white_space(base, revenue(), ["Cloud_Telephony"], RULES)
    assert rows["reason"].iat[0].endswith("fits size tier soho or smb")


def test_no_base_or_no_family_gives_an_empty_table_with_the_columns():
    empty = white_space(clients(), revenue(), ["mobile"], listed(mobile=[{}]))
    assert empty.empty and list(empty.columns) == CROSS_SELL_COLUMNS
    none = white_space(clients(("a", "trade", "smb", 0)), revenue(), [], listed(mobile=[{}]))
    assert none.empty and list(none.columns) == CROSS_SELL_COLUMNS


@pytest.mark.parametrize(
    "change, message",
    [
        ({"families": {"mobile": []}}, "at least one target"),
        ({"families": {"mobile": [{"size_tiers": ["huge"]}]}}, "huge"),
        ({"families": {"mobile": [{"branches": True}]}}, "branches"),
        ({"unlisted_families": "guess"}, "every_client"),
    ],
)
def test_a_wrong_cross_sell_config_is_refused_naming_the_key(tmp_path, change, message):
    import yaml

    from assets.config import DEFAULT_RULES_PATH

    config = yaml.safe_load(DEFAULT_RULES_PATH.read_text(encoding="utf-8"))
    config["cross_sell"].update(change)
    path = tmp_path / "rules.yml"
    path.write_text(yaml.safe_dump(config), encoding="utf-8")
    with pytest.raises(RulesConfigError) as error:
        load_rules(path)
    assert "cross_sell" in str(error.value) and message in str(error.value)


def test_rows_come_ordered_by_client_then_rank_whatever_the_base_order():
    """The asset writes the rows in the order white_space gives them (no sort in SQL)."""
    base = clients(("b", "trade", "smb", 0), ("c", "it", "smb", 0), ("a", "trade", "smb", 0))
    bought = revenue(("b", "mobile", 10), ("c", "apps", 5))
    families = ["apps", "mobile", "vdc"]
    rows = white_space(base, bought, families, listed(**{f: [{}] for f in families}))
    keys = list(zip(rows["account_id"], rows["rank_for_client"], strict=True))
    assert keys == [("a", 1), ("a", 2), ("a", 3), ("b", 1), ("b", 2), ("c", 1), ("c", 2)]
    assert list(rows.index) == list(range(len(rows)))
