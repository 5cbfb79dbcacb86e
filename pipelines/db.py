"""Small DuckDB helpers shared by the Dagster modules."""

import duckdb


def fetch_one(con: duckdb.DuckDBPyConnection, sql: str, params: list | None = None):
    """The first row of a query, or None. Reads the whole result: duckdb 2.0 keeps a
    connection busy while an execute() result is not exhausted, and fetchone() leaves
    it so."""
    rows = con.execute(sql, params or []).fetchall()
    return rows[0] if rows else None
