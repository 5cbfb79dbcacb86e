"""Great Expectations 1.x suites for `sales_funnel` and `sales_funnel_stages` (docs/funnel.md,
docs/funnel.md).

Reconciliation with the deals mart is computed beside the tables in SQL when they are
read: per dimension, deals_closed and deals_won sum to the mart's counts of deals closed
(and won) in the window, since every dimension splits the same deals; and a group's
stage counts start at no more than its closed deals.
"""

from __future__ import annotations

import pandas as pd

from assets.funnel import DIMENSIONS, FUNNEL_STAGES
from expectations.runner import ValidationOutcome, run_suites

FUNNEL_CHECK_COLUMNS = ["closed_reconciles", "won_reconciles", "won_within_closed"]
STAGES_CHECK_COLUMNS = ["reached_within_closed"]


def funnel_expectations(deals_closed: int, columns: list[str] | None = None) -> list:
    """`deals_closed`: the deals mart's count of deals closed in the window; when there
    are any, every dimension splits them."""
    import great_expectations.expectations as gxe

    # Without a closed deal the table is empty; with some, every dimension splits them.
    coverage: list = (
        [gxe.ExpectColumnDistinctValuesToEqualSet(column="dimension", value_set=list(DIMENSIONS))]
        if deals_closed
        else [gxe.ExpectTableRowCountToEqual(value=0)]
    )
    return [
        *coverage,
        *(
            [gxe.ExpectTableColumnsToMatchSet(column_set=columns, exact_match=True)]
            if columns is not None
            else []
        ),
        gxe.ExpectColumnValuesToBeInSet(column="dimension", value_set=list(DIMENSIONS)),
        gxe.ExpectColumnValuesToNotBeNull(column="dimension"),
        gxe.ExpectColumnValuesToNotBeNull(column="group_value"),
        gxe.ExpectCompoundColumnsToBeUnique(column_list=["dimension", "group_value"]),
        gxe.ExpectColumnValuesToBeBetween(column="deals_closed", min_value=1),
        gxe.ExpectColumnValuesToBeBetween(column="deals_won", min_value=0),
        gxe.ExpectColumnValuesToBeBetween(column="win_rate", min_value=0, max_value=1),
        gxe.ExpectColumnValuesToNotBeNull(column="win_rate"),
        gxe.ExpectColumnValuesToBeBetween(column="median_cycle_days", min_value=0),
        *[
            gxe.ExpectColumnValuesToBeInSet(column=c, value_set=[True])
            for c in FUNNEL_CHECK_COLUMNS
        ],
    ]


def stages_expectations(columns: list[str] | None = None) -> list:
    import great_expectations.expectations as gxe

    return [
        *(
            [gxe.ExpectTableColumnsToMatchSet(column_set=columns, exact_match=True)]
            if columns is not None
            else []
        ),
        gxe.ExpectColumnValuesToBeInSet(column="dimension", value_set=list(DIMENSIONS)),
        gxe.ExpectColumnValuesToBeInSet(column="stage", value_set=list(FUNNEL_STAGES)),
        gxe.ExpectColumnValuesToNotBeNull(column="stage"),
        gxe.ExpectCompoundColumnsToBeUnique(column_list=["dimension", "group_value", "stage"]),
        gxe.ExpectColumnValuesToBeBetween(column="deals_reached", min_value=0),
        gxe.ExpectColumnValuesToBeBetween(column="conversion_to_next", min_value=0, max_value=1),
        gxe.ExpectColumnValuesToBeInSet(column="reached_within_closed", value_set=[True]),
    ]


def validate_sales_funnel(
    frame: pd.DataFrame, deals_closed: int, columns: list[str] | None = None
) -> ValidationOutcome:
    """`frame`: sales_funnel plus FUNNEL_CHECK_COLUMNS; `deals_closed`: the deals mart's
    count of deals closed in the window."""
    return run_suites([("sales_funnel", funnel_expectations(deals_closed, columns), frame)])


def validate_sales_funnel_stages(
    frame: pd.DataFrame, columns: list[str] | None = None
) -> ValidationOutcome:
    """`frame`: sales_funnel_stages plus STAGES_CHECK_COLUMNS."""
    return run_suites([("sales_funnel_stages", stages_expectations(columns), frame)])
