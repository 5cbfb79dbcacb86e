"""Faults around publication: killed processes, readers during swaps, a stale WAL, a
locked warehouse, a full disk and a failing dbt model. After each, BI reads the
previous complete release or the new complete one, never a broken or mixed file."""

import errno
import shutil
import signal
import subprocess
import sys
import textwrap
import time

import duckdb
import pytest
from dagster import Failure

from pipelines.marts.dbt import project_marts
from pipelines.publish import release as publish_module
from pipelines.publish.release import publish_release
from pipelines.resources import Warehouse

LOG = __import__("logging").getLogger("test")
PY = sys.executable

CONSISTENT_READ = """
    select r.published_at = all_rows.published_at
           and m.row_count = all_rows.n
           and all_rows.n = joined.n as consistent
    from release r
    cross join (select count(*) as n, any_value(published_at) as published_at,
                       count(distinct published_at) as stamps from client_segments) all_rows
    cross join release_manifest m
    cross join (select count(*) as n from client_segments c
                join segment_history h using (account_id, as_of)) joined
    where m.table_name = 'client_segments' and all_rows.stamps = 1
"""

MARTS = project_marts()


HOLDER_QUERY = "select (select published_at from release)::varchar, (" + CONSISTENT_READ + ")"


@pytest.fixture
def audited(e2e_run, tmp_path):
    path = tmp_path / "warehouse.duckdb"
    shutil.copyfile(e2e_run["warehouse"], path)
    publish = tmp_path / "publish"
    publish_release(Warehouse(path=str(path)), publish, LOG, MARTS)
    return Warehouse(path=str(path)), publish


def published_at(path) -> str:
    with duckdb.connect(str(path), read_only=True) as con:
        return str(con.execute("select published_at from release").fetchone()[0])


def test_four_readers_during_forty_publications(audited, tmp_path):
    warehouse, publish = audited
    target = publish / "segments.duckdb"
    stop = tmp_path / "stop"
    reader = textwrap.dedent(
        f"""
        import duckdb, os, sys
        reads = errors = inconsistent = 0
        while not os.path.exists({str(stop)!r}):
            try:
                with duckdb.connect({str(target)!r}, read_only=True) as con:
                    ok = con.execute({CONSISTENT_READ!r}).fetchone()
                reads += 1
                inconsistent += not (ok and ok[0])
            except Exception as exc:
                errors += 1
                print(repr(exc), file=sys.stderr)
        print(reads, errors, inconsistent)
        """
    )
    readers = [
        subprocess.Popen(
            [PY, "-c", reader], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        for _ in range(4)
    ]
    time.sleep(1.0)
    stamps = set()
    for _ in range(40):
        publish_release(warehouse, publish, LOG, MARTS)
        stamps.add(published_at(target))
    stop.touch()
    results = [r.communicate(timeout=60) for r in readers]
    assert len(stamps) == 40
    for (out, err), proc in zip(results, readers, strict=True):
        assert proc.returncode == 0, err
        reads, errors, inconsistent = map(int, out.split())
        assert reads > 0 and errors == 0 and inconsistent == 0, (out, err)


def test_a_reader_holding_the_file_keeps_its_night_and_a_new_reader_sees_the_new_one(audited):
    warehouse, publish = audited
    target = publish / "segments.duckdb"
    holder = subprocess.Popen(
        [
            PY,
            "-c",
            textwrap.dedent(
                f"""
                import duckdb, sys
                con = duckdb.connect({str(target)!r}, read_only=True)
                q = {HOLDER_QUERY!r}
                print(con.execute(q).fetchone(), flush=True)
                sys.stdin.readline()
                print(con.execute(q).fetchone(), flush=True)
                """
            ),
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    before = holder.stdout.readline().strip()
    publish_release(warehouse, publish, LOG, MARTS)
    holder.stdin.write("go\n")
    holder.stdin.flush()
    after = holder.stdout.readline().strip()
    holder.wait(timeout=30)
    assert before == after and before.endswith("True)")
    assert published_at(target) not in before


def test_a_stale_wal_beside_the_published_file_is_removed(audited):
    warehouse, publish = audited
    wal = publish / "segments.duckdb.wal"
    wal.write_bytes(b"left by a crashed read-write open")
    publish_release(warehouse, publish, LOG, MARTS)
    assert not wal.exists()
    with duckdb.connect(str(publish / "segments.duckdb"), read_only=True) as con:
        assert con.execute("select count(*) from client_segments").fetchone()[0] > 0


def test_a_full_disk_while_writing_the_release_leaves_the_previous_one(audited, monkeypatch):
    warehouse, publish = audited
    target = publish / "segments.duckdb"
    before = target.read_bytes()
    real_build = publish_module.build_release_file

    def build_until_the_disk_is_full(warehouse_path, temporary, *args):
        real_build(warehouse_path, temporary, *args)
        with open(temporary, "r+b") as handle:
            handle.truncate(4096)  # what a half-written file looks like
        raise OSError(errno.ENOSPC, "No space left on device", str(temporary))

    monkeypatch.setattr(publish_module, "build_release_file", build_until_the_disk_is_full)
    with pytest.raises(OSError, match="No space left"):
        publish_release(warehouse, publish, LOG, MARTS)
    assert target.read_bytes() == before
    assert not list(publish.glob(".*.tmp"))


KILLER = textwrap.dedent(
    """
    import logging, os, signal, sys
    from pathlib import Path
    from pipelines.publish import release as publish, releases
    from pipelines.marts.dbt import project_marts
    from pipelines.resources import Warehouse

    point = sys.argv[3]
    def die(*args, **kwargs):
        os.kill(os.getpid(), signal.SIGKILL)
    if point == "while_building":
        real = publish.content_hash
        def half(con, table):  # the temporary file holds tables but no manifest yet
            die()
        publish.content_hash = half
    elif point == "before_rename":
        publish.fsync_path = die
    elif point == "after_rename":
        publish.archive_release = die
    publish.publish_release(
        Warehouse(path=sys.argv[1]), Path(sys.argv[2]), logging.getLogger(), project_marts()
    )
    """
)


@pytest.mark.parametrize("point", ["while_building", "before_rename", "after_rename"])
def test_a_publication_killed_midway(audited, point):
    warehouse, publish = audited
    target = publish / "segments.duckdb"
    before = target.read_bytes()
    killed = subprocess.run([PY, "-c", KILLER, warehouse.path, str(publish), point])
    assert killed.returncode == -signal.SIGKILL
    if point == "after_rename":
        assert target.read_bytes() != before  # the new release is complete and in place
    else:
        assert target.read_bytes() == before  # the previous one is untouched
    with duckdb.connect(str(target), read_only=True) as con:
        assert con.execute(CONSISTENT_READ).fetchone()[0]
    # The next publication cleans up what the killed one left and succeeds.
    publish_release(warehouse, publish, LOG, MARTS)
    assert not list(publish.glob(".*.tmp"))
    with duckdb.connect(str(target), read_only=True) as con:
        assert con.execute(CONSISTENT_READ).fetchone()[0]


def test_a_locked_warehouse_fails_at_once_naming_the_holder(audited):
    warehouse, _ = audited
    holder = subprocess.Popen(
        [
            PY,
            "-c",
            f"import duckdb, sys; c = duckdb.connect({warehouse.path!r}); "
            "print('held', flush=True); sys.stdin.readline()",
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "held"
        started = time.perf_counter()
        with pytest.raises(Failure) as failure:
            with warehouse.connect():
                pass
        assert time.perf_counter() - started < 5
        assert "locked by another process" in str(failure.value)
        assert f"PID {holder.pid}" in str(failure.value)
    finally:
        holder.stdin.write("\n")
        holder.stdin.flush()
        holder.wait(timeout=30)
