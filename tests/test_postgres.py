"""The optional PostgreSQL publication (SEGMENTS_PUBLISH_POSTGRES_URL) against a real
server the tests start themselves (tests/postgres_server.py): every published table
and its comments arrive by COPY, the schema is swapped in atomically (readers during
repeated publications see one night or the other, never a mix, and never an error), a
refused publication and a connection lost midway leave the previous schema intact,
and the credentials never reach a log or an error message."""

from __future__ import annotations

import logging
import shutil
import threading
from pathlib import Path

import duckdb
import psycopg
import pytest
from dagster import Failure
from postgres_server import PASSWORD, postgres_server

from pipelines.marts.dbt import project_marts
from pipelines.publish import postgres as pg_publication
from pipelines.publish.release import PostgresTarget, publish_release
from pipelines.resources import Warehouse

MARTS = project_marts()
SCHEMA = "segments"
READER = "bi_reader"


@pytest.fixture(scope="module")
def pg_url():
    with postgres_server() as url:
        with psycopg.connect(url, autocommit=True) as con:
            con.execute(f"create role {READER} login password 'reader'")
        yield url


def rows(url: str, sql: str) -> list[tuple]:
    with psycopg.connect(url) as con:
        return con.execute(sql).fetchall()


class Captured(logging.Handler):
    def __init__(self):
        super().__init__()
        self.messages: list[str] = []

    def emit(self, record):
        self.messages.append(record.getMessage())


@pytest.fixture
def log():
    logger = logging.getLogger(f"test_postgres.{id(object())}")
    handler = Captured()
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    logger.messages = handler.messages
    return logger


@pytest.fixture
def night(e2e_copy, pg_url):
    """The shared run's copy, with the PostgreSQL schemas emptied."""
    with psycopg.connect(pg_url, autocommit=True) as con:
        for schema in (SCHEMA, f"{SCHEMA}__loading", f"{SCHEMA}__previous"):
            con.execute(f"drop schema if exists {schema} cascade")
    return e2e_copy


def publish(night, url, log):
    return publish_release(
        Warehouse(path=str(night["warehouse"])),
        night["publish"].parent,
        log,
        MARTS,
        postgres=PostgresTarget(url, SCHEMA, (READER,)),
    )


def duckdb_counts(path: Path) -> dict[str, int]:
    with duckdb.connect(str(path), read_only=True) as con:
        tables = [
            t
            for (t,) in con.execute(
                "select table_name from duckdb_tables() where database_name = current_database() "
                "and schema_name = 'main' and not internal"
            ).fetchall()
        ]
        return {t: con.execute(f'select count(*) from "{t}"').fetchone()[0] for t in tables}


def pg_counts(url: str) -> dict[str, int]:
    tables = rows(url, f"select tablename from pg_tables where schemaname = '{SCHEMA}'")
    return {t: rows(url, f'select count(*) from {SCHEMA}."{t}"')[0][0] for (t,) in tables}


def test_every_published_table_arrives_with_its_comments_and_types(night, pg_url, log):
    target, counts, _ = publish(night, pg_url, log)
    assert pg_counts(pg_url) == duckdb_counts(target)
    assert pg_counts(pg_url)["client_segments"] > 0
    comments = rows(
        pg_url,
        f"""select c.relname, obj_description(c.oid, 'pg_class') from pg_class c
            join pg_namespace n on n.oid = c.relnamespace
            where n.nspname = '{SCHEMA}' and c.relkind = 'r'""",
    )
    assert all(comment and len(comment) > 20 for _, comment in comments), comments
    undescribed = rows(
        pg_url,
        f"""select c.relname, a.attname from pg_attribute a
            join pg_class c on c.oid = a.attrelid
            join pg_namespace n on n.oid = c.relnamespace
            where n.nspname = '{SCHEMA}' and c.relkind = 'r' and a.attnum > 0
              and not a.attisdropped and coalesce(col_description(c.oid, a.attnum), '') = ''""",
    )
    assert undescribed == []
    types = dict(
        rows(
            pg_url,
            f"""select column_name, data_type from information_schema.columns
                where table_schema = '{SCHEMA}' and table_name = 'client_segments'""",
        )
    )
    assert types["revenue_t12m"] == "numeric" and types["as_of"] == "date"
    assert types["risk_flags"] == "text" and types["risk_score"] == "integer"
    # Money to the kopeck, as in the DuckDB file.
    with duckdb.connect(str(target), read_only=True) as con:
        total = con.execute("select sum(revenue_t12m)::varchar from client_segments").fetchone()
    assert rows(pg_url, f"select sum(revenue_t12m)::text from {SCHEMA}.client_segments")[0] == (
        total[0],
    )
    # The read-only role reads every table.
    reader = pg_url.replace(f"postgres:{PASSWORD}", f"{READER}:reader")
    assert rows(reader, f"select count(*) from {SCHEMA}.release")[0][0] == 1
    assert not any(PASSWORD in message for message in log.messages)
    assert any("PostgreSQL publication to 127.0.0.1" in m for m in log.messages)


def _second_night(first: Path, folder: Path) -> Path:
    """A copy of the release file whose every run_id is another run's."""
    second = folder / "second.duckdb"
    shutil.copy(first, second)
    with duckdb.connect(str(second)) as con:
        for (table,) in con.execute(
            "select table_name from duckdb_columns() where column_name = 'run_id' "
            "and database_name = current_database()"
        ).fetchall():
            con.execute(f"update \"{table}\" set run_id = 'the-other-night'")
    return second


def test_readers_during_repeated_publications_see_one_night_never_a_mix(
    night, pg_url, log, tmp_path
):
    first, _, _ = publish(night, pg_url, log)
    first_copy = tmp_path / "first.duckdb"
    shutil.copy(first, first_copy)
    second = _second_night(first_copy, tmp_path)
    stop = threading.Event()
    seen: list[tuple] = []
    errors: list[str] = []

    def reader():
        with psycopg.connect(pg_url, autocommit=True) as con:
            while not stop.is_set():
                try:
                    seen.append(
                        con.execute(
                            f"""select (select run_id from {SCHEMA}.release),
                                       (select min(run_id) from {SCHEMA}.client_segments),
                                       (select max(run_id) from {SCHEMA}.cross_sell),
                                       (select count(*) from {SCHEMA}.client_segments)"""
                        ).fetchone()
                    )
                except psycopg.Error as exc:
                    errors.append(str(exc))

    readers = [threading.Thread(target=reader) for _ in range(2)]
    for thread in readers:
        thread.start()
    try:
        for release in (second, first_copy) * 3:
            pg_publication.publish_to_postgres(pg_url, release, SCHEMA, [READER], log)
    finally:
        stop.set()
        for thread in readers:
            thread.join()
    assert errors == []
    assert len(seen) > 10
    mixed = [r for r in seen if len({r[0], r[1], r[2]}) != 1]
    assert mixed == []
    assert {r[0] for r in seen} == {"the-other-night", seen[0][0]} or len({r[0] for r in seen}) == 2


def test_a_refused_publication_changes_nothing_in_postgres(night, pg_url, log):
    publish(night, pg_url, log)
    before = rows(pg_url, f"select run_id, published_at from {SCHEMA}.release")
    counts = pg_counts(pg_url)
    # The audited table changed after its passing audit: publication refuses.
    with duckdb.connect(str(night["warehouse"])) as con:
        con.execute(
            "update segmentation.client_segments set segment = 'vip' where segment = 'ballast'"
        )
    with pytest.raises(Failure, match="changed since its last passing audit"):
        publish(night, pg_url, log)
    assert rows(pg_url, f"select run_id, published_at from {SCHEMA}.release") == before
    assert pg_counts(pg_url) == counts


def test_a_connection_lost_midway_leaves_the_previous_schema_intact(
    night, pg_url, log, monkeypatch
):
    publish(night, pg_url, log)
    before = rows(pg_url, f"select run_id, published_at from {SCHEMA}.release")
    counts = pg_counts(pg_url)
    published_file = night["publish"].read_bytes()
    copied = []
    original = pg_publication.copy_table

    def copy_then_lose_the_connection(pg, source, schema, table, columns):
        copied.append(table)
        if len(copied) == 3:  # the server drops the publisher's connection
            with psycopg.connect(pg_url, autocommit=True) as admin:
                admin.execute("select pg_terminate_backend(%s)", [pg.info.backend_pid])
        return original(pg, source, schema, table, columns)

    monkeypatch.setattr(pg_publication, "copy_table", copy_then_lose_the_connection)
    with pytest.raises(Failure) as failure:
        publish(night, pg_url, log)
    assert "unchanged" in str(failure.value) and PASSWORD not in str(failure.value)
    assert rows(pg_url, f"select run_id, published_at from {SCHEMA}.release") == before
    assert pg_counts(pg_url) == counts
    leftovers = rows(pg_url, f"select nspname from pg_namespace where nspname like '{SCHEMA}_%'")
    assert leftovers == []
    # Neither was the DuckDB release replaced.
    assert night["publish"].read_bytes() == published_file
    assert not any(PASSWORD in message for message in log.messages)


def test_the_nightly_job_publishes_to_postgres_from_the_environment(night, pg_url, monkeypatch):
    """The job's publication step, configured by SEGMENTS_PUBLISH_POSTGRES_URL alone: the
    URL reaches the resource as the variable's name, so neither the run's config nor its
    log holds the password."""
    import dataclasses

    from pipelines.definitions import nightly_job
    from pipelines.publish.release import SEGMENT_HISTORY, SEGMENTS_RELEASE
    from pipelines.settings import POSTGRES_URL_VAR

    monkeypatch.setenv(POSTGRES_URL_VAR, pg_url)
    env = dataclasses.replace(night["env"], postgres_url_set=True, postgres_readers=(READER,))
    result = nightly_job(env).execute_in_process(
        instance=night["instance"],
        raise_on_error=False,
        asset_selection=[SEGMENTS_RELEASE, SEGMENT_HISTORY],
    )
    assert result.success, [e.message for e in result.all_events if e.is_failure]
    assert pg_counts(pg_url) == duckdb_counts(night["publish"])
    logs = " ".join(e.user_message for e in night["instance"].all_logs(result.run_id))
    assert "PostgreSQL publication to 127.0.0.1" in logs and PASSWORD not in logs
    run = night["instance"].get_run_by_id(result.run_id)
    assert PASSWORD not in repr(run.run_config)
