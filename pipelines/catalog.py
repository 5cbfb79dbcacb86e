"""Every table's and column's description, defined once: the dbt models' in their
schema.yml (read from the manifest), the Python steps' tables in `pipelines/columns.yml`.

The assets show them as column schemas (`dagster/column_schema`) and declare where each
column comes from (`dagster/column_lineage`); publication writes them into the
published file as COMMENT ON TABLE / COLUMN and as the `data_dictionary` table.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import duckdb
import yaml
from dagster import (
    AssetKey,
    TableColumn,
    TableColumnDep,
    TableColumnLineage,
    TableSchema,
)

COLUMNS_FILE = Path(__file__).with_name("columns.yml")


@dataclass(frozen=True)
class ColumnDoc:
    name: str
    description: str
    derived_from: tuple[str, ...] = ()  # upstream columns, "schema.table.column"


@dataclass(frozen=True)
class TableDoc:
    name: str  # "schema.table"
    description: str
    columns: tuple[ColumnDoc, ...]

    def column(self, name: str) -> ColumnDoc | None:
        return next((c for c in self.columns if c.name == name), None)


@cache
def python_tables(path: Path = COLUMNS_FILE) -> dict[str, TableDoc]:
    """The tables the Python steps write (and publication adds), keyed "schema.table"."""
    spec = yaml.safe_load(path.read_text(encoding="utf-8"))
    return {
        name: TableDoc(
            name,
            body["description"],
            tuple(
                ColumnDoc(column, doc["description"], tuple(doc.get("derived_from") or ()))
                for column, doc in body["columns"].items()
            ),
        )
        for name, body in spec["tables"].items()
    }


@cache
def stamps(path: Path = COLUMNS_FILE) -> dict[str, str]:
    """Descriptions of the columns every published row carries (as_of, run_id, ...)."""
    return dict(yaml.safe_load(path.read_text(encoding="utf-8"))["stamps"])


@cache
def dbt_tables(manifest_path: Path) -> dict[str, TableDoc]:
    """The dbt models' descriptions from the manifest, keyed "schema.table" the way the
    warehouse names them (the folder is the schema)."""
    manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    out = {}
    for node in manifest["nodes"].values():
        if node["resource_type"] != "model":
            continue
        name = f"{node['fqn'][1]}.{node['name']}"
        out[name] = TableDoc(
            name,
            node.get("description") or "",
            tuple(
                ColumnDoc(column["name"], column.get("description") or "")
                for column in node["columns"].values()
            ),
        )
    return out


def _key(column_path: str) -> tuple[AssetKey, str]:
    schema, table, column = column_path.split(".")
    return AssetKey([schema, table]), column


def column_schema(table: str) -> TableSchema:
    """The column schema a Python asset shows: every column with its description."""
    return TableSchema(
        columns=[
            TableColumn(column.name, description=column.description)
            for column in python_tables()[table].columns
        ]
    )


def column_lineage(table: str) -> TableColumnLineage:
    """Where each column of a Python step's table comes from, as asset columns."""
    return TableColumnLineage(
        deps_by_column={
            column.name: [
                TableColumnDep(asset_key=key, column_name=name)
                for key, name in map(_key, column.derived_from)
            ]
            for column in python_tables()[table].columns
            if column.derived_from
        }
    )


def table_metadata(key: AssetKey) -> dict:
    """Definition metadata of the asset `key` (its table "schema.table"): the column schema."""
    return {"dagster/column_schema": column_schema(".".join(key.path))}


def lineage_metadata(key: AssetKey, warehouse_path: str) -> dict:
    """Materialization metadata of the asset `key`: where each column comes from, and
    the column schema with the types the night wrote (read from the warehouse at
    `warehouse_path`, after the step has closed its own connection)."""
    table = ".".join(key.path)
    with duckdb.connect(warehouse_path, read_only=True) as con:
        types = dict(
            con.execute(
                """select column_name, data_type from information_schema.columns
                   where table_catalog = current_database() and table_schema = ?
                     and table_name = ?""",
                list(key.path),
            ).fetchall()
        )
    schema = TableSchema(
        columns=[
            TableColumn(c.name, type=types.get(c.name, "unknown"), description=c.description)
            for c in python_tables()[table].columns
        ]
    )
    return {"dagster/column_lineage": column_lineage(table), "dagster/column_schema": schema}
