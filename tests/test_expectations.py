"""The client_segments suite passes on good data and fails on each kind of bad data."""

import pandas as pd

from expectations.client_segments import ClientSegmentsExpectations, validate_client_segments
from pipelines.rules.segmentation import CLIENT_SEGMENTS_COLUMNS


def good_frame() -> pd.DataFrame:
    rows = []
    for i, (segment, abc, revenue, rank) in enumerate(
        [
            ("vip", "A", 500.10, 1),
            ("strategic", "A", 200.20, 2),
            ("typical", "B", 100.30, 3),
            ("typical", "C", 50.40, 4),
            ("ballast", "C", 0.0, None),
        ]
    ):
        row = dict.fromkeys(CLIENT_SEGMENTS_COLUMNS)
        row.update(
            account_id=f"C{i}",
            segment=segment,
            abc_class=abc,
            revenue_t12m=revenue,
            revenue_rank=rank,
            size_tier="smb",
            corporate_tier="top100",
            segment_reason="because",
            risk_score=0,
            risk_level="low",
            risk_flags="",
            as_of=pd.Timestamp("2026-10-31"),
        )
        rows.append(row)
    return pd.DataFrame(rows, columns=CLIENT_SEGMENTS_COLUMNS)


def client_base(revenues=(500.10, 200.20, 100.30, 50.40, 0.0)) -> pd.DataFrame:
    return pd.DataFrame(
        {"account_id": [f"C{i}" for i in range(len(revenues))], "revenue_t12m": revenues}
    )


def expectations(frame: pd.DataFrame, **overrides) -> ClientSegmentsExpectations:
    values = {
        "client_base": client_base(),
        "revenue_t12m_total": 851.00,
        "vip_rank_cutoff": 1,
        "min_rows": 1,
        "columns": CLIENT_SEGMENTS_COLUMNS,
    }
    values.update(overrides)
    return ClientSegmentsExpectations(**values)


def failed_types(frame, **overrides) -> set[str]:
    outcome = validate_client_segments(frame, expectations(frame, **overrides))
    assert outcome.success is (not outcome.failures)
    return {f.split(" ")[0] for f in outcome.failures}


def test_good_table_passes():
    outcome = validate_client_segments(good_frame(), expectations(good_frame()))
    assert outcome.success, outcome.failures
    assert outcome.evaluated >= 15


def test_duplicate_account_fails():
    frame = good_frame()
    frame.loc[4, "account_id"] = "C0"
    assert {"expect_column_values_to_be_unique"} <= failed_types(frame)


def test_unknown_segment_and_tier_fail():
    frame = good_frame()
    frame.loc[2, "segment"] = "gold"
    frame.loc[3, "size_tier"] = "huge"
    assert {"expect_column_values_to_be_in_set"} <= failed_types(frame)


def test_revenue_off_by_two_kopecks_fails_and_by_none_passes():
    assert failed_types(good_frame(), revenue_t12m_total=851.02) == {
        "expect_column_sum_to_be_between"
    }
    assert failed_types(good_frame(), revenue_t12m_total=851.00) == set()


def test_a_client_missing_from_the_base_or_an_extra_one_fails():
    frame = good_frame()
    missing_one = frame.iloc[:4]
    assert {"expect_table_row_count_to_equal", "expect_column_values_to_be_in_set"} <= (
        failed_types(missing_one, revenue_t12m_total=851.0)
    )
    frame.loc[0, "account_id"] = "X9"
    assert "expect_column_values_to_be_in_set" in failed_types(frame)


def test_reconciliation_names_the_missing_and_the_foreign_client():
    frame = good_frame()
    frame.loc[0, "account_id"] = "X9"
    outcome = validate_client_segments(frame, expectations(frame))
    in_set = [f for f in outcome.failures if f.startswith("expect_column_values_to_be_in_set")]
    assert any("in_client_base" in f for f in in_set)
    assert any("in_client_segments" in f for f in in_set)


def test_one_client_off_by_a_kopeck_fails_even_when_the_total_matches():
    frame = good_frame()
    frame.loc[0, "revenue_t12m"] = 500.11
    frame.loc[1, "revenue_t12m"] = 200.19  # total unchanged: 851.00
    assert failed_types(frame) == {"expect_column_pair_values_to_be_equal"}


def test_vip_ranked_beyond_the_cutoff_fails():
    frame = good_frame()
    frame.loc[1, "segment"] = "vip"  # rank 2, cutoff 1
    assert failed_types(frame) == {"expect_column_values_to_be_between"}


def test_missing_column_fails():
    assert "expect_table_columns_to_match_set" in failed_types(
        good_frame().drop(columns=["segment_reason"])
    )


def test_empty_table_fails_the_row_count_floor():
    frame = good_frame().iloc[:0]
    types = failed_types(frame, client_base=client_base(()), revenue_t12m_total=0.0)
    assert "expect_table_row_count_to_be_between" in types
