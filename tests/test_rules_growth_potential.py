"""growth_potential is built column-wise; it must say exactly what the per-row rule of
docs/growth_potential.md says, criterion by criterion, on the edge cases: missing values, a value
exactly at its threshold (growth_potential.pipeline_share_of_revenue,
growth_threshold), zero and negative revenue, the manager's veto, every criterion at
once and no client at all."""

import numpy as np
import pandas as pd
import pytest

from assets import segments as s
from assets.config import load_rules

RULES = load_rules()
GP = RULES.growth_potential


def reference(clients: pd.DataFrame) -> pd.DataFrame:
    """The rule written row by row, as docs/growth_potential.md reads (the implementation
    this module had before it was vectorised)."""

    def money(value: float) -> str:
        return f"{value:,.0f}".replace(",", " ")

    has, reasons = [], []
    for row in clients.to_dict("records"):
        potential = "" if pd.isna(row["potential"]) else str(row["potential"]).lower()
        revenue = float(row["revenue_t12m"]) if pd.notna(row["revenue_t12m"]) else np.nan
        pipeline = (
            float(row["weighted_open_pipeline"]) if pd.notna(row["weighted_open_pipeline"]) else 0.0
        )
        growth = float(row["growth"]) if pd.notna(row["growth"]) else np.nan
        fired = []
        if potential == "high":
            fired.append("manager's potential is high")
        if pipeline > 0 and pipeline >= GP.pipeline_share_of_revenue * revenue:
            fired.append(
                f"weighted open pipeline {money(pipeline)} >= "
                f"{GP.pipeline_share_of_revenue:.0%} of revenue_t12m {money(revenue)}"
            )
        if growth >= GP.growth_threshold and revenue > 0:
            fired.append(f"growth {growth:+.0%} >= {GP.growth_threshold:+.0%}")
        if row["size_tier"] in ("umm", "enterprise") and row["abc_class"] == "C":
            fired.append(f"{row['size_tier']} company buying little (ABC class C)")
        if potential == "none":
            has.append(False)
            reasons.append("manager's potential is none (veto)")
        else:
            has.append(bool(fired))
            reasons.append("; ".join(fired) if fired else "no criterion met")
    return pd.DataFrame(
        {"growth_potential": has, "growth_potential_reason": reasons}, index=clients.index
    )


def client(**changes) -> dict:
    row = {
        "abc_class": "B",
        "size_tier": "smb",
        "revenue_t12m": 1000.0,
        "growth": 0.0,
        "potential": None,
        "weighted_open_pipeline": 0.0,
    }
    row.update(changes)
    return row


EDGE_CASES = {
    "plain": client(),
    "manager high": client(potential="high"),
    "manager HIGH in capitals": client(potential="HIGH"),
    "manager none vetoes all": client(
        potential="none", growth=0.5, weighted_open_pipeline=1e6, size_tier="umm", abc_class="C"
    ),
    "manager medium": client(potential="medium"),
    "pipeline exactly at the share": client(weighted_open_pipeline=250.0),
    "pipeline a kopeck short": client(weighted_open_pipeline=249.99),
    "pipeline missing": client(weighted_open_pipeline=None),
    "pipeline with zero revenue": client(revenue_t12m=0.0, weighted_open_pipeline=10.0),
    "pipeline zero with zero revenue": client(revenue_t12m=0.0, weighted_open_pipeline=0.0),
    "pipeline with negative revenue": client(revenue_t12m=-50.0, weighted_open_pipeline=5.0),
    "pipeline with revenue missing": client(revenue_t12m=None, weighted_open_pipeline=5.0),
    "growth exactly at the threshold": client(growth=0.20),
    "growth just below": client(growth=0.1999),
    "growth with zero revenue": client(growth=0.5, revenue_t12m=0.0),
    "growth missing": client(growth=None),
    "growth infinite": client(growth=np.inf),
    "white space umm": client(size_tier="umm", abc_class="C"),
    "white space enterprise": client(size_tier="enterprise", abc_class="C"),
    "large but class B": client(size_tier="enterprise", abc_class="B"),
    "class missing": client(size_tier="umm", abc_class=None),
    "size unknown": client(size_tier="unknown", abc_class="C"),
    "every criterion": client(
        potential="high",
        weighted_open_pipeline=5000.0,
        growth=0.35,
        size_tier="umm",
        abc_class="C",
    ),
    "tie: two clients alike": client(growth=0.25),
    "tie: the other": client(growth=0.25),
}


def frame(rows: dict[str, dict]) -> pd.DataFrame:
    return pd.DataFrame(list(rows.values()), index=list(rows))


def test_vectorised_rule_says_what_the_per_row_rule_says_on_every_edge_case():
    clients = frame(EDGE_CASES)
    pd.testing.assert_frame_equal(s.growth_potential(clients, RULES), reference(clients))


@pytest.mark.parametrize("name", list(EDGE_CASES))
def test_each_edge_case_alone(name):
    clients = frame({name: EDGE_CASES[name]})
    pd.testing.assert_frame_equal(s.growth_potential(clients, RULES), reference(clients))


def test_the_reason_lists_every_criterion_in_order():
    reason = s.growth_potential(frame(EDGE_CASES), RULES).loc[
        "every criterion", "growth_potential_reason"
    ]
    assert reason == (
        "manager's potential is high; weighted open pipeline 5 000 >= 25% of revenue_t12m "
        "1 000; growth +35% >= +20%; umm company buying little (ABC class C)"
    )


def test_string_columns_as_the_warehouse_gives_them():
    clients = frame(EDGE_CASES)
    for column in ("abc_class", "size_tier", "potential"):
        clients[column] = clients[column].astype("str").where(clients[column].notna())
    pd.testing.assert_frame_equal(s.growth_potential(clients, RULES), reference(clients))


def test_no_clients():
    clients = frame(EDGE_CASES).iloc[:0]
    out = s.growth_potential(clients, RULES)
    assert list(out.columns) == ["growth_potential", "growth_potential_reason"]
    assert out.empty
