"""CSV copies of published tables for people who open them in a spreadsheet.

A text cell that starts with = + - @ (or a tab or carriage return) would be run as a
formula by Excel or LibreOffice (CSV injection: a company named "=HYPERLINK(...)" in a
CRM export is enough). Such cells are written with a leading apostrophe, which the
spreadsheet shows as text. Numbers and dates are written as they are: -500.00 stays a
number.
"""

import csv
from pathlib import Path

import duckdb

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def neutralise(value: str) -> str:
    return "'" + value if value.startswith(FORMULA_START) else value


def export_csv(published: Path, table: str, out: Path) -> int:
    """Write `table` of the published file to `out`; returns the rows written."""
    with duckdb.connect(str(published), read_only=True) as con:
        tables = {r[0] for r in con.execute("select table_name from duckdb_tables()").fetchall()}
        if table not in tables:
            raise ValueError(
                f"{table} is not a published table; published: {', '.join(sorted(tables))}"
            )
        cursor = con.execute(f'select * from "{table}"')
        names = [d[0] for d in cursor.description]
        rows = cursor.fetchall()
    with out.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(names)
        for row in rows:
            writer.writerow(
                [neutralise(v) if isinstance(v, str) else ("" if v is None else v) for v in row]
            )
    return len(rows)
