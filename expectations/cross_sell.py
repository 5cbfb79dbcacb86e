"""Great Expectations 1.x suite for `cross_sell` (docs/cross_sell.md).

The cross-table rules are computed beside the table in SQL when it is read (one
boolean per row: GX compares column pairs row by row in Python, seconds at a million
rows), so the suite checks each row against the client base and the family marts:
no row for a family the client already buys, peer counts equal to the base's own
count of the peer group, adopters within it, and ranks 1..n per client (unique ranks
whose maximum is the client's row count are exactly 1..n).
"""

from __future__ import annotations

import pandas as pd

from expectations.runner import ValidationOutcome, run_suites

# Computed beside the table by the gate (pipelines/quality/gates.py).
CHECK_COLUMNS = [
    "already_buys",
    "peer_count_matches",
    "rank_is_contiguous",
    "adopters_within_group",
]


def cross_sell_expectations(columns: list[str] | None = None) -> list:
    import great_expectations.expectations as gxe

    shape = (
        [gxe.ExpectTableColumnsToMatchSet(column_set=columns, exact_match=True)]
        if columns is not None
        else []
    )
    return [
        *shape,
        *[
            gxe.ExpectColumnValuesToNotBeNull(column=c)
            for c in ("account_id", "product_family", "rank_for_client", "reason", "peer_group")
        ],
        gxe.ExpectCompoundColumnsToBeUnique(column_list=["account_id", "product_family"]),
        gxe.ExpectCompoundColumnsToBeUnique(column_list=["account_id", "rank_for_client"]),
        gxe.ExpectColumnValuesToBeBetween(column="rank_for_client", min_value=1),
        gxe.ExpectColumnValuesToBeBetween(
            column="adoption_share_in_peer_group", min_value=0, max_value=1
        ),
        gxe.ExpectColumnValuesToNotBeNull(column="adoption_share_in_peer_group"),
        gxe.ExpectColumnValuesToBeInSet(column="already_buys", value_set=[False]),
        *[
            gxe.ExpectColumnValuesToBeInSet(column=c, value_set=[True])
            for c in ("peer_count_matches", "rank_is_contiguous", "adopters_within_group")
        ],
    ]


def validate_cross_sell(frame: pd.DataFrame, columns: list[str] | None = None) -> ValidationOutcome:
    """`frame`: cross_sell plus CHECK_COLUMNS; `columns`: its exact column set."""
    return run_suites([("cross_sell", cross_sell_expectations(columns), frame)])
