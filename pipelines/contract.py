"""The export contract (config/contract.yml) as typed objects."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import yaml

# Contract type -> (DuckDB type, words for an error message).
SQL_TYPES: dict[str, tuple[str, str]] = {
    "varchar": ("VARCHAR", "text"),
    "integer": ("BIGINT", "a whole number"),
    "decimal": ("DECIMAL(18,2)", "a number with at most 2 decimals, '.' as decimal point"),
    "rate": ("DECIMAL(18,6)", "a number with at most 6 decimals, '.' as decimal point"),
    "double": ("DOUBLE", "a number, '.' as decimal point"),
    "date": ("DATE", "a date"),
    "timestamp": ("TIMESTAMP", "a timestamp"),
    "boolean": ("BOOLEAN", "true or false"),
}


@dataclass(frozen=True)
class ColumnSpec:
    name: str
    type: str
    required: bool = False
    key: bool = False
    values: tuple = ()

    @property
    def sql_type(self) -> str:
        return SQL_TYPES[self.type][0]


@dataclass(frozen=True)
class CsvFormat:
    delimiter: str = ","
    quote: str = '"'
    date_format: str = "%Y-%m-%d"
    timestamp_format: str = "%Y-%m-%d %H:%M:%S"
    encoding: str = "utf-8"


@dataclass(frozen=True)
class SourceSpec:
    name: str
    system: str
    description: str
    columns: tuple[ColumnSpec, ...]
    primary_key: tuple[str, ...] = ()
    required_file: bool = False
    incremental: bool = False
    csv: CsvFormat = field(default_factory=CsvFormat)

    @property
    def required_columns(self) -> list[str]:
        return [c.name for c in self.columns if c.required]

    def column(self, name: str) -> ColumnSpec:
        return next(c for c in self.columns if c.name == name)


def load_contract(path: Path) -> dict[str, SourceSpec]:
    raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    csv = CsvFormat(**raw.get("csv", {}))
    sources: dict[str, SourceSpec] = {}
    for name, body in raw["sources"].items():
        columns = []
        for col_name, col in body["columns"].items():
            if col["type"] not in SQL_TYPES:
                raise ValueError(f"{path}: {name}.{col_name}: unknown type {col['type']!r}")
            columns.append(
                ColumnSpec(
                    name=col_name,
                    type=col["type"],
                    required=bool(col.get("required", False)),
                    key=bool(col.get("key", False)),
                    values=tuple(col.get("values", ())),
                )
            )
        sources[name] = SourceSpec(
            name=name,
            system=body["system"],
            description=body["description"],
            columns=tuple(columns),
            primary_key=tuple(body.get("primary_key", ())),
            required_file=bool(body.get("required_file", False)),
            incremental=bool(body.get("incremental", False)),
            csv=CsvFormat(**{**csv.__dict__, **body.get("csv", {})}),
        )
    return sources
