"""Optional publication to PostgreSQL for BI servers (SEGMENTS_PUBLISH_POSTGRES_URL).

Every table of the release file just built goes into a new schema (bulk-loaded with
COPY), with its comments, and swapped in by the same transaction: the live schema is
renamed away, the new one renamed to the live name, the old one dropped. A BI query sees the
previous night or the new one, never a mix (it resolves its tables when it starts, and
the drop waits for queries still reading the old ones). Anything failing before the swap
(a lost connection, a refused COPY) rolls the whole transaction back, so the live schema
stays as it was. Credentials come from the URL alone and are never logged.
"""

from __future__ import annotations

import re
import time
from pathlib import Path

import duckdb
from dagster import Failure

# DuckDB types of a published table (text, integers, decimals, dates, timestamps,
# booleans: tests/test_end_to_end.py holds it) and their PostgreSQL names.
PG_TYPES = {
    "VARCHAR": "text",
    "INTEGER": "integer",
    "BIGINT": "bigint",
    "DOUBLE": "double precision",
    "BOOLEAN": "boolean",
    "DATE": "date",
    "TIMESTAMP": "timestamp",
}
IDENTIFIER = re.compile(r"^[a-z_][a-z0-9_]{0,40}$")
# How long the swap waits for a moment with no reader mid-query before it gives up.
SWAP_TIMEOUT_SECONDS = 60
BATCH_ROWS = 10_000


def pg_type(duckdb_type: str) -> str:
    decimal = re.fullmatch(r"DECIMAL\((\d+),(\d+)\)", duckdb_type)
    if decimal:
        return f"numeric({decimal.group(1)},{decimal.group(2)})"
    if duckdb_type not in PG_TYPES:
        raise Failure(f"cannot publish DuckDB type {duckdb_type} to PostgreSQL")
    return PG_TYPES[duckdb_type]


def safe_target(url: str) -> str:
    """host/database of the URL, for the log: no user, no password."""
    from psycopg.conninfo import conninfo_to_dict

    info = conninfo_to_dict(url)
    return f"{info.get('host', 'localhost')}:{info.get('port', 5432)}/{info.get('dbname', '')}"


def _quoted(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def copy_table(pg, source: duckdb.DuckDBPyConnection, schema: str, table: str, columns) -> int:
    """Create `schema.table` and COPY the release file's rows into it; returns the rows."""
    definition = ", ".join(f'"{name}" {pg_type(data_type)}' for name, data_type in columns)
    pg.execute(f'create table {schema}."{table}" ({definition})')
    names = ", ".join(f'"{name}"' for name, _ in columns)
    result = source.execute(f'select {names} from "{table}"')
    rows = 0
    with pg.cursor().copy(f'copy {schema}."{table}" ({names}) from stdin') as copy:
        while batch := result.fetchmany(BATCH_ROWS):
            for row in batch:
                copy.write_row(row)
            rows += len(batch)
    return rows


def swap(pg, schema: str, loading: str, previous: str, log) -> None:
    """Put `loading` in the place of `schema`, in the caller's transaction (the one that
    loaded it: nothing is visible to a reader before the commit, and after it only the
    new schema is there).

    First every live table is locked, all at once and without waiting (NOWAIT), retried
    until no reader is in the middle of a query: waiting for one table while holding
    another could deadlock with a reader doing the opposite. Once they are all held, a
    reader's next query waits for the commit and then reads the new schema."""
    import psycopg

    pg.execute(f"drop schema if exists {previous} cascade")
    live = [
        f'{schema}."{table}"'
        for (table,) in pg.execute(
            "select tablename from pg_tables where schemaname = %s", [schema]
        ).fetchall()
    ]
    exists = pg.execute("select count(*) from pg_namespace where nspname = %s", [schema])
    deadline = time.monotonic() + SWAP_TIMEOUT_SECONDS
    while True:
        try:
            with pg.transaction():  # a savepoint: a refused lock releases the others
                if live:
                    pg.execute(f"lock table {', '.join(live)} in access exclusive mode nowait")
                break
        except psycopg.errors.LockNotAvailable:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.02)
    if exists.fetchone()[0]:
        pg.execute(f"alter schema {schema} rename to {previous}")
        pg.execute(f"alter schema {loading} rename to {schema}")
        pg.execute(f"drop schema {previous} cascade")
    else:
        pg.execute(f"alter schema {loading} rename to {schema}")
    log.info(f"PostgreSQL: schema {schema} swapped in")


def publish_to_postgres(
    url: str, release_file: Path, schema: str, readers: list[str], log
) -> dict[str, int]:
    """Load every table of `release_file` into PostgreSQL and swap it in as `schema`
    atomically; `readers` (roles) get USAGE on it and SELECT on its tables. Returns the
    rows per table."""
    import psycopg

    for name in (schema, *readers):
        if not IDENTIFIER.match(name):
            raise Failure(f"not a plain PostgreSQL name: {name!r}", allow_retries=False)
    loading, previous = f"{schema}__loading", f"{schema}__previous"
    target = safe_target(url)
    log.info(f"PostgreSQL publication to {target}, schema {schema}")
    counts: dict[str, int] = {}
    try:
        with (
            duckdb.connect(str(release_file), read_only=True) as source,
            psycopg.connect(url, application_name="segments-publish") as pg,
        ):
            tables = source.execute(
                """select table_name, comment from duckdb_tables()
                   where database_name = current_database() and schema_name = 'main'
                     and not internal
                   order by table_name"""
            ).fetchall()
            columns = source.execute(
                """select table_name, column_name, data_type, comment from duckdb_columns()
                   where database_name = current_database() and schema_name = 'main'
                     and not internal
                   order by table_name, column_index"""
            ).fetchall()
            # Left by nothing (a failed load rolls back), but a name clash must not stop us.
            pg.execute(f"drop schema if exists {loading} cascade")
            pg.execute(f"create schema {loading}")
            for table, comment in tables:
                mine = [(c, t) for tbl, c, t, _ in columns if tbl == table]
                counts[table] = copy_table(pg, source, loading, table, mine)
                pg.execute(f'comment on table {loading}."{table}" is {_quoted(comment or "")}')
                log.info(f"PostgreSQL: {table} loaded, {counts[table]:,} rows")
            for table, column, _type, comment in columns:
                pg.execute(
                    f'comment on column {loading}."{table}"."{column}" is {_quoted(comment or "")}'
                )
            for role in readers:
                pg.execute(f"grant usage on schema {loading} to {role}")
                pg.execute(f"grant select on all tables in schema {loading} to {role}")
            swap(pg, schema, loading, previous, log)
            pg.commit()
    except psycopg.Error as exc:
        # The message of a psycopg error names the server's reason, not the password.
        raise Failure(
            f"PostgreSQL publication to {target} failed ({type(exc).__name__}: "
            f"{str(exc).strip()}); schema {schema} there is unchanged, and the DuckDB "
            "release was not replaced either.",
            allow_retries=False,
        ) from exc
    return counts
