"""Great Expectations 1.x suite for the published `client_segments` table.

Built in code from what the night's marts say the table must hold, validated through
an ephemeral context over a DataFrame. GX is imported lazily: it costs about 6 s.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

from assets.config import SEGMENTS

ABC_CLASSES = ["A", "B", "C"]
SIZE_TIERS = ["soho", "smb", "umm", "enterprise", "unknown"]
# Kopeck tolerance: the sum is recomputed in floating point from DECIMAL(18,2) values.
KOPECK = 0.005


@dataclass(frozen=True)
class ClientSegmentsExpectations:
    """What tonight's client_segments must satisfy, taken from the revenue marts."""

    client_base_ids: list[str]  # the night's client base (DOMAIN 2), from dim_clients
    revenue_t12m_total: float  # sum of revenue_t12m in the revenue mart
    vip_rank_cutoff: int  # ceil(5% of paying clients): no VIP ranks beyond it
    min_rows: int
    columns: list[str]
    key_levels: int = 3


@dataclass
class ValidationOutcome:
    success: bool
    failures: list[str] = field(default_factory=list)
    evaluated: int = 0


def build_expectations(exp: ClientSegmentsExpectations) -> list:
    import great_expectations.expectations as gxe

    corporate_tiers = ["top100", "mass"] + [f"key_{i}" for i in range(1, exp.key_levels + 1)]
    return [
        gxe.ExpectTableColumnsToMatchSet(column_set=exp.columns, exact_match=True),
        gxe.ExpectTableRowCountToBeBetween(min_value=exp.min_rows),
        gxe.ExpectTableRowCountToEqual(value=len(exp.client_base_ids)),
        gxe.ExpectColumnValuesToNotBeNull(column="account_id"),
        gxe.ExpectColumnValuesToBeUnique(column="account_id"),
        gxe.ExpectColumnValuesToBeInSet(column="account_id", value_set=exp.client_base_ids),
        gxe.ExpectColumnValuesToNotBeNull(column="segment"),
        gxe.ExpectColumnValuesToBeInSet(column="segment", value_set=list(SEGMENTS)),
        gxe.ExpectColumnValuesToBeInSet(column="abc_class", value_set=ABC_CLASSES),
        gxe.ExpectColumnValuesToNotBeNull(column="size_tier"),
        gxe.ExpectColumnValuesToBeInSet(column="size_tier", value_set=SIZE_TIERS),
        gxe.ExpectColumnValuesToNotBeNull(column="corporate_tier"),
        gxe.ExpectColumnValuesToBeInSet(column="corporate_tier", value_set=corporate_tiers),
        gxe.ExpectColumnValuesToNotBeNull(column="segment_reason"),
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
            row_condition='segment == "vip"',
            condition_parser="pandas",
        ),
        gxe.ExpectColumnValuesToNotBeNull(
            column="revenue_rank",
            row_condition='segment == "vip"',
            condition_parser="pandas",
        ),
    ]


def validate_client_segments(
    frame: pd.DataFrame, exp: ClientSegmentsExpectations
) -> ValidationOutcome:
    import great_expectations as gx

    context = gx.get_context(mode="ephemeral")
    batch = (
        context.data_sources.add_pandas("warehouse")
        .add_dataframe_asset("client_segments")
        .add_batch_definition_whole_dataframe("night")
    )
    suite = context.suites.add(
        gx.ExpectationSuite(name="client_segments", expectations=build_expectations(exp))
    )
    validation = context.validation_definitions.add(
        gx.ValidationDefinition(name="client_segments_gate", data=batch, suite=suite)
    )
    result = validation.run(batch_parameters={"dataframe": frame})
    failures = []
    for r in result.results:
        if not r.success:
            config = r.expectation_config
            kwargs = {
                k: v
                for k, v in config.kwargs.items()
                if k not in ("batch_id", "value_set") and v is not None
            }
            observed = {
                k: v
                for k, v in (r.result or {}).items()
                if k in ("observed_value", "unexpected_count", "partial_unexpected_list")
            }
            failures.append(f"{config.type} {kwargs}: {observed}")
    return ValidationOutcome(
        success=bool(result.success), failures=failures, evaluated=len(result.results)
    )
