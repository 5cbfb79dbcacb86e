"""When a night's dbt build may be incremental (pipelines/marts/incremental.py), and the
build state and change log it keeps in the warehouse."""

import datetime as dt

import duckdb
import pytest

from pipelines.marts.incremental import (
    CHANGES_TABLE,
    BuildState,
    pending_changes,
    plan_build,
    read_state,
    record_build,
)

LAST = BuildState(dt.date(2026, 10, 30), "inputs-1")


def plan(previous=LAST, as_of=dt.date(2026, 10, 31), fingerprint="inputs-1", **kwargs):
    return plan_build(
        previous,
        as_of,
        fingerprint,
        has_reset=kwargs.get("has_reset", False),
        tracks_lines=kwargs.get("tracks_lines", True),
    )


def test_the_next_day_of_the_same_month_builds_incrementally_from_the_last_as_of():
    tonight = plan()
    assert tonight.incremental and tonight.previous_as_of == LAST.as_of
    assert "2026-10-30 -> 2026-10-31" in tonight.reason
    assert plan(as_of=LAST.as_of).incremental  # the same night again


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"previous": None}, "no earlier build"),
        ({"has_reset": True}, "loaded whole"),
        ({"fingerprint": "inputs-2"}, "the dbt project, the rules or the FX rates changed"),
        ({"as_of": dt.date(2026, 10, 29)}, "is before the last build's"),
        ({"as_of": dt.date(2026, 11, 1)}, "a new month"),
        ({"tracks_lines": False}, "won deals"),
    ],
)
def test_anything_but_new_lines_and_a_day_of_the_same_month_builds_in_full(change, reason):
    tonight = plan(**change)
    assert not tonight.incremental and tonight.previous_as_of is None
    assert tonight.reason.startswith("full build") and reason in tonight.reason


@pytest.fixture
def con():
    db = duckdb.connect()
    db.execute("create schema raw")
    yield db
    db.close()


def test_without_a_change_log_or_state_the_warehouse_is_built_in_full(con, tmp_path):
    assert read_state(tmp_path / "build_state.json") is None
    (tmp_path / "damaged.json").write_text("{not json")
    assert read_state(tmp_path / "damaged.json") is None
    assert pending_changes(con) == (0, True, None)


def test_a_build_consumes_the_changes_logged_before_it_started_only(con, tmp_path):
    state = tmp_path / "target" / "build_state.json"
    con.execute(
        f"create table {CHANGES_TABLE} (change varchar, run_id varchar, changed_at timestamp)"
    )
    con.execute(
        f"""insert into {CHANGES_TABLE} values ('reset', 'r1', '2026-10-30 01:00'),
            ('old', 'r2', '2026-10-31 01:00'), ('new', 'r2', '2026-10-31 01:00'),
            ('new', 'r3', '2026-10-31 02:00')"""
    )
    lines, reset, newest = pending_changes(con)
    assert (lines, reset, newest) == (2, True, dt.datetime(2026, 10, 31, 2))
    record_build(con, state, BuildState(dt.date(2026, 10, 31), "f"), dt.datetime(2026, 10, 31, 1))
    assert read_state(state) == BuildState(dt.date(2026, 10, 31), "f")
    assert pending_changes(con) == (1, False, dt.datetime(2026, 10, 31, 2))
    record_build(con, state, BuildState(dt.date(2026, 10, 31), "g"), dt.datetime(2026, 10, 31, 2))
    assert read_state(state) == BuildState(dt.date(2026, 10, 31), "g")
    assert pending_changes(con) == (0, False, None)
