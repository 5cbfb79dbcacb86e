"""The published file explains itself: every table and column carries its description
as a DuckDB comment (DBeaver, the duckdb CLI and `duckdb_columns()` show it), and the
`data_dictionary` table lists each column with its type, description and where it comes
from. The descriptions are the catalog's (`pipelines/catalog.py`), defined once."""

from __future__ import annotations

import duckdb

from pipelines.catalog import TableDoc, dbt_tables, python_tables, stamps
from pipelines.marts.dbt import DBT_PROJECT

# Tables publication writes itself, documented in pipelines/columns.yml.
RELEASE_TABLES = {
    "release": "publish.release",
    "release_manifest": "publish.release_manifest",
    "data_dictionary": "publish.data_dictionary",
}


def _documented(source: str) -> TableDoc | None:
    return python_tables().get(source) or dbt_tables(DBT_PROJECT.manifest_path).get(source)


def _quoted(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def describe_release(con: duckdb.DuckDBPyConnection, sources: dict[str, str]) -> int:
    """Write `data_dictionary` and COMMENT ON every table and column of the file being
    built; `sources` maps each published table to the warehouse table it publishes.
    Returns the dictionary's row count."""
    sources = {**sources, **RELEASE_TABLES}
    con.execute(
        """create table data_dictionary (table_name varchar, column_name varchar,
            data_type varchar, description varchar, derived_from varchar)"""
    )
    columns = con.execute(
        """select table_name, column_name, data_type from information_schema.columns
           where table_catalog = current_database() and table_schema = 'main'
           order by table_name, ordinal_position"""
    ).fetchall()
    rows = []
    for table, column, data_type in columns:
        doc = _documented(sources[table])
        own = doc.column(column) if doc else None
        description = own.description if own else stamps().get(column, "")
        derived = ""
        if own and not sources[table].startswith("publish."):
            upstream = ", ".join(own.derived_from)
            derived = f"{sources[table]}.{column}" + (f" <- {upstream}" if upstream else "")
        elif own:
            derived = ", ".join(own.derived_from)
        rows.append((table, column, data_type, description, derived))
    con.executemany("insert into data_dictionary values (?, ?, ?, ?, ?)", rows)
    for table, source in sources.items():
        doc = _documented(source)
        con.execute(f"comment on table {table} is {_quoted(doc.description if doc else '')}")
    for table, column, _type, description, _derived in rows:
        con.execute(f'comment on column {table}."{column}" is {_quoted(description)}')
    return len(rows)
