"""Great Expectations 1.x suite for the published `client_segments` table.

Built in code from what the night's marts say the table must hold, validated through
an ephemeral context over two DataFrames: the table itself, and its reconciliation
against the night's client base (one row per client found in either, so membership
and per-client revenue are checked row by row rather than through a 100,000-value
set, which GX serialises once per metric). GX is imported lazily: it costs about 6 s.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from assets.vocabulary import (
    ABC_CLASSES,
    RISK_LEVELS,
    SEGMENTS,
    SIZE_TIERS,
    Segment,
    corporate_tiers,
)
from expectations.runner import ValidationOutcome, run_suites

# Kopeck tolerance: the sum is recomputed in floating point from DECIMAL(18,2) values.
KOPECK = 0.005


@dataclass(frozen=True)
class ClientSegmentsExpectations:
    """What tonight's client_segments must satisfy, taken from the revenue marts."""

    client_base: pd.DataFrame  # the night's base (docs/revenue.md): account_id, revenue_t12m
    revenue_t12m_total: float  # sum of revenue_t12m in the revenue mart
    vip_rank_cutoff: int  # ceil(segments.vip_top_share x paying clients): no VIP beyond it
    min_rows: int
    columns: list[str]
    key_levels: int = 3  # corporate_tiers.key_levels


def build_expectations(exp: ClientSegmentsExpectations) -> list:
    import great_expectations.expectations as gxe

    return [
        gxe.ExpectTableColumnsToMatchSet(column_set=exp.columns, exact_match=True),
        gxe.ExpectTableRowCountToBeBetween(min_value=exp.min_rows),
        gxe.ExpectTableRowCountToEqual(value=len(exp.client_base)),
        gxe.ExpectColumnValuesToNotBeNull(column="account_id"),
        gxe.ExpectColumnValuesToBeUnique(column="account_id"),
        gxe.ExpectColumnValuesToNotBeNull(column="segment"),
        gxe.ExpectColumnValuesToBeInSet(column="segment", value_set=list(SEGMENTS)),
        gxe.ExpectColumnValuesToBeInSet(column="abc_class", value_set=list(ABC_CLASSES)),
        gxe.ExpectColumnValuesToNotBeNull(column="size_tier"),
        gxe.ExpectColumnValuesToBeInSet(column="size_tier", value_set=list(SIZE_TIERS)),
        gxe.ExpectColumnValuesToNotBeNull(column="corporate_tier"),
        gxe.ExpectColumnValuesToBeInSet(
            column="corporate_tier", value_set=list(corporate_tiers(exp.key_levels))
        ),
        gxe.ExpectColumnValuesToNotBeNull(column="segment_reason"),
        gxe.ExpectColumnValuesToBeInSet(column="risk_level", value_set=list(RISK_LEVELS)),
        gxe.ExpectColumnValuesToNotBeNull(column="risk_level"),
        gxe.ExpectColumnValuesToBeBetween(column="risk_score", min_value=0),
        gxe.ExpectColumnSumToBeBetween(
            column="revenue_t12m",
            min_value=exp.revenue_t12m_total - KOPECK,
            max_value=exp.revenue_t12m_total + KOPECK,
        ),
        # Every VIP ranks within the cutoff; with unique ranks this bounds the VIP count.
        gxe.ExpectColumnValuesToBeBetween(
            column="revenue_rank",
            min_value=1,
            max_value=exp.vip_rank_cutoff,
            row_condition=f'segment == "{Segment.VIP.value}"',
            condition_parser="pandas",
        ),
        gxe.ExpectColumnValuesToNotBeNull(
            column="revenue_rank",
            row_condition=f'segment == "{Segment.VIP.value}"',
            condition_parser="pandas",
        ),
    ]


def build_reconciliation_expectations() -> list:
    import great_expectations.expectations as gxe

    return [
        # A row of client_segments for a client outside the night's base.
        gxe.ExpectColumnValuesToBeInSet(column="in_client_base", value_set=[True]),
        # A client of the night's base with no row in client_segments.
        gxe.ExpectColumnValuesToBeInSet(column="in_client_segments", value_set=[True]),
        gxe.ExpectColumnPairValuesToBeEqual(
            column_A="revenue_t12m_kopecks",
            column_B="mart_revenue_t12m_kopecks",
            ignore_row_if="either_value_is_missing",
        ),
    ]


def reconcile_with_client_base(frame: pd.DataFrame, client_base: pd.DataFrame) -> pd.DataFrame:
    """One row per account_id in either table, with where it was found and its revenue
    in whole kopecks from each side (exact integers, no float comparison)."""

    def kopecks(values: pd.Series) -> pd.Series:
        return (pd.to_numeric(values).astype("float64") * 100).round().astype("Int64")

    ours = pd.DataFrame(
        {
            "account_id": frame["account_id"].astype("string"),
            "revenue_t12m_kopecks": kopecks(frame["revenue_t12m"]),
        }
    )
    mart = pd.DataFrame(
        {
            "account_id": client_base["account_id"].astype("string"),
            "mart_revenue_t12m_kopecks": kopecks(client_base["revenue_t12m"]),
        }
    )
    merged = ours.merge(mart, on="account_id", how="outer", indicator=True)
    merged["in_client_base"] = merged["_merge"] != "left_only"
    merged["in_client_segments"] = merged["_merge"] != "right_only"
    return merged.drop(columns="_merge")


def validate_client_segments(
    frame: pd.DataFrame, exp: ClientSegmentsExpectations
) -> ValidationOutcome:
    return run_suites(
        [
            ("client_segments", build_expectations(exp), frame),
            (
                "client_base_reconciliation",
                build_reconciliation_expectations(),
                reconcile_with_client_base(frame, exp.client_base),
            ),
        ]
    )
