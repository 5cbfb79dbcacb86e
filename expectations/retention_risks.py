"""Great Expectations 1.x suite for `retention_risks` (one row per client and flag) and
the per-client risk it rolls up to.

The roll-up is checked against figures derived independently in SQL from the flag
rows (the sum of their points, whether a high flag hit a vip/strategic client), so a
risk_level that contradicts its score or its flags fails the gate.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from assets.config import RetentionRules
from assets.vocabulary import RETENTION_FLAGS, RISK_LEVELS, SEVERITIES, RiskLevel
from expectations.runner import ValidationOutcome, run_suites


def flag_expectations(rules: RetentionRules) -> list:
    import great_expectations.expectations as gxe

    pairs = [f"{name}:{rule.severity}" for name, rule in rules.flags.items()]
    return [
        gxe.ExpectColumnValuesToNotBeNull(column="account_id"),
        gxe.ExpectColumnValuesToBeInSet(column="flag", value_set=list(RETENTION_FLAGS)),
        gxe.ExpectColumnValuesToNotBeNull(column="flag"),
        gxe.ExpectColumnValuesToBeInSet(column="severity", value_set=list(SEVERITIES)),
        gxe.ExpectColumnValuesToNotBeNull(column="severity"),
        # Each flag carries the severity the rules give it. (As one column: GX checks
        # column pairs row by row in Python, 5 s at 170,000 flags.)
        gxe.ExpectColumnValuesToBeInSet(column="flag_severity", value_set=pairs),
        gxe.ExpectCompoundColumnsToBeUnique(column_list=["account_id", "flag"]),
        gxe.ExpectColumnValueLengthsToBeBetween(column="evidence", min_value=1),
        gxe.ExpectColumnValuesToNotBeNull(column="evidence"),
        gxe.ExpectColumnValuesToNotBeNull(column="recommended_action"),
    ]


def client_risk_expectations(rules: RetentionRules) -> list:
    import great_expectations.expectations as gxe

    high, medium = rules.high_min_score, rules.medium_min_score

    def level_where(level: RiskLevel, condition: str) -> Any:
        return gxe.ExpectColumnValuesToBeInSet(
            column="risk_level",
            value_set=[level.value],
            row_condition=condition,
            condition_parser="pandas",
        )

    return [
        gxe.ExpectColumnValuesToBeInSet(column="risk_level", value_set=list(RISK_LEVELS)),
        gxe.ExpectColumnValuesToNotBeNull(column="risk_level"),
        gxe.ExpectColumnValuesToBeUnique(column="account_id"),
        gxe.ExpectColumnPairValuesToBeEqual(column_A="risk_score", column_B="flag_points"),
        level_where(RiskLevel.HIGH, f"risk_score >= {high}"),
        level_where(RiskLevel.HIGH, "escalated == True"),
        level_where(
            RiskLevel.MEDIUM, f"risk_score >= {medium} & risk_score < {high} & escalated == False"
        ),
        level_where(RiskLevel.LOW, f"risk_score < {medium} & escalated == False"),
    ]


def validate_retention_risks(
    flags: pd.DataFrame, client_risk: pd.DataFrame, rules: RetentionRules
) -> ValidationOutcome:
    """`flags`: the retention_risks rows. `client_risk`: one row per client with
    risk_score, risk_level, flag_points (sum of its flags' severity points) and
    escalated (a high flag on a segment that makes it high)."""
    flags = flags.assign(
        flag_severity=flags["flag"].astype(str) + ":" + flags["severity"].astype(str)
    )
    return run_suites(
        [
            ("retention_risks", flag_expectations(rules), flags),
            ("client_risk", client_risk_expectations(rules), client_risk),
        ]
    )
