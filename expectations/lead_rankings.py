"""Great Expectations 1.x suite for `lead_rankings` (docs/leads.md).

bant_product (B x A x N x T) and is_excluded are computed beside the table when it is
read, so the suite checks the stored score against its components and the ranks
against the exclusions: ranks unique, from 1 to the number of ranked leads (hence
contiguous), every lead in profile ranked, every excluded lead unranked.
"""

from __future__ import annotations

import pandas as pd

from assets.vocabulary import BANT_COMPONENTS, BUYER_CLASSES, READINESS_LEVELS
from expectations.runner import ValidationOutcome, run_suites


def lead_expectations(
    ranked_leads: int, lead_inputs: int | None = None, columns: list[str] | None = None
) -> list:
    """`lead_inputs`: the number of leads loaded tonight, the exact row count (0 when
    no leads export arrived: an empty table is then the right answer, not a failure).
    `columns`: the exact column set."""
    import great_expectations.expectations as gxe

    components = [f"bant_{c}" for c in BANT_COMPONENTS]
    # Unique ranks from 1 to the number of ranked leads are exactly 1..n.
    contiguous = (
        [
            gxe.ExpectColumnMinToBeBetween(column="bant_rank", min_value=1, max_value=1),
            gxe.ExpectColumnMaxToBeBetween(
                column="bant_rank", min_value=ranked_leads, max_value=ranked_leads
            ),
        ]
        if ranked_leads
        else []
    )
    shape = [
        *([gxe.ExpectTableRowCountToEqual(value=lead_inputs)] if lead_inputs is not None else []),
        *(
            [gxe.ExpectTableColumnsToMatchSet(column_set=columns, exact_match=True)]
            if columns is not None
            else []
        ),
    ]
    return [
        *shape,
        *contiguous,
        gxe.ExpectColumnValuesToNotBeNull(column="lead_id"),
        gxe.ExpectColumnValuesToBeUnique(column="lead_id"),
        *[gxe.ExpectColumnValuesToNotBeNull(column=c) for c in components],
        *[
            gxe.ExpectColumnValuesToBeBetween(column=c, min_value=1, max_value=5)
            for c in components
        ],
        gxe.ExpectColumnPairValuesToBeEqual(column_A="bant_score", column_B="bant_product"),
        gxe.ExpectColumnValuesToBeUnique(column="bant_rank"),
        gxe.ExpectColumnValuesToNotBeNull(
            column="bant_rank", row_condition="is_excluded == False", condition_parser="pandas"
        ),
        gxe.ExpectColumnValuesToBeNull(
            column="bant_rank", row_condition="is_excluded == True", condition_parser="pandas"
        ),
        gxe.ExpectColumnValuesToBeInSet(column="readiness", value_set=list(READINESS_LEVELS)),
        gxe.ExpectColumnValuesToNotBeNull(column="readiness"),
        gxe.ExpectColumnValuesToBeInSet(column="buyer_class", value_set=list(BUYER_CLASSES)),
        gxe.ExpectColumnValuesToNotBeNull(column="route"),
        gxe.ExpectColumnValuesToNotBeNull(column="next_action"),
    ]


def validate_lead_rankings(
    frame: pd.DataFrame, lead_inputs: int | None = None, columns: list[str] | None = None
) -> ValidationOutcome:
    """`frame`: lead_rankings plus bant_product and is_excluded; `lead_inputs`: the
    leads loaded tonight (one row each); `columns`: the frame's exact column set."""
    ranked = int((~frame["is_excluded"].astype(bool)).sum()) if len(frame) else 0
    return run_suites([("lead_rankings", lead_expectations(ranked, lead_inputs, columns), frame)])
