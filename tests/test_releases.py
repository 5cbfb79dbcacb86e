"""Kept releases, the content-hash manifest and the guard against silent data loss,
on a copy of the end-to-end run's audited warehouse."""

import logging
import shutil

import duckdb
import pytest
from dagster import Failure

from pipelines.marts.dbt import project_marts
from pipelines.publish.release import publish_release
from pipelines.publish.releases import Totals, archive_release, drop_violations, list_releases
from pipelines.resources import Warehouse

LOG = logging.getLogger("test")

MARTS = project_marts()


@pytest.mark.parametrize(
    ("before", "after", "fires"),
    [
        (Totals(100, 1000.0), Totals(80, 800.0), False),  # exactly 20%: allowed
        (Totals(100, 1000.0), Totals(79, 1000.0), True),  # 21% fewer clients
        (Totals(100, 1000.0), Totals(100, 799.99), True),  # revenue 20.001% lower
        (Totals(100, 1000.0), Totals(150, 2000.0), False),  # growth is never a problem
        (None, Totals(1, 1.0), False),  # nothing published yet
    ],
)
def test_drop_guard_boundaries(before, after, fires):
    assert bool(drop_violations(before, after, 0.20)) is fires


def test_the_message_says_what_dropped_and_by_how_much():
    (message,) = drop_violations(Totals(10_000, 5.0), Totals(554, 5.0), 0.20)
    assert "client count dropped from 10,000 to 554 (94.5%" in message
    assert "allowed 20%" in message


@pytest.fixture
def audited(e2e_run, tmp_path):
    """A copy of the audited warehouse and an empty publish folder."""
    path = tmp_path / "warehouse.duckdb"
    shutil.copyfile(e2e_run["warehouse"], path)
    return Warehouse(path=str(path)), tmp_path / "publish"


def manifest(path) -> dict:
    with duckdb.connect(str(path), read_only=True) as con:
        rows = con.execute("select table_name, content_hash from release_manifest").fetchall()
    return dict(rows)


def test_republishing_gives_equal_content_hashes_and_one_kept_copy_per_run(audited):
    warehouse, publish = audited
    hashes = []
    for _ in range(3):
        target, counts, _ = publish_release(warehouse, publish, LOG, MARTS, keep_releases=2)
        hashes.append(manifest(target))
    (kept,) = list_releases(publish)
    assert kept.read_bytes() == target.read_bytes()
    assert hashes[0] == hashes[1] == hashes[2]
    assert set(hashes[0]) == set(counts)
    with duckdb.connect(str(target), read_only=True) as con:
        status = dict(
            con.execute("select table_name, audit_status from release_manifest").fetchall()
        )
    assert status["client_segments"] == status["retention_risks"] == "passed"


def test_only_the_newest_releases_are_kept(tmp_path):
    published = tmp_path / "segments.duckdb"
    for night in range(1, 5):
        published.write_bytes(f"night {night}".encode())
        archive_release(published, f"2026-10-0{night}", f"run-{night}", keep=2, log=LOG)
    kept = list_releases(tmp_path)
    assert [p.name for p in kept] == [
        "segments-2026-10-04-run-4.duckdb",
        "segments-2026-10-03-run-3.duckdb",
    ]
    assert kept[0].read_bytes() == b"night 4"


def test_a_large_drop_is_refused_unless_accepted(audited):
    warehouse, publish = audited
    publish.mkdir()
    previous = publish / "segments.duckdb"
    with duckdb.connect(str(previous)) as con:
        con.execute(
            "create table client_segments as select 'C' || i as account_id, "
            "100.00::decimal(18, 2) as revenue_t12m from range(10000) t(i)"
        )
    before = previous.read_bytes()
    with pytest.raises(Failure) as refused:
        publish_release(warehouse, publish, LOG, MARTS, max_drop_share=0.20)
    assert "client count dropped from 10,000" in str(refused.value)
    assert "accept_drop" in str(refused.value)
    assert previous.read_bytes() == before
    publish_release(warehouse, publish, LOG, MARTS, max_drop_share=0.20, accept_drop=True)
    with duckdb.connect(str(previous), read_only=True) as con:
        assert con.execute("select count(*) from release_manifest").fetchone()[0] > 0
