"""The export contract (config/contract.yml) as typed objects."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path

import yaml

# Contract type -> (DuckDB type, words for an error message).
SQL_TYPES: dict[str, tuple[str, str]] = {
    "varchar": ("VARCHAR", "text"),
    "integer": ("BIGINT", "a whole number"),
    "decimal": ("DECIMAL(18,2)", "a number with at most 2 decimals"),
    "rate": ("DECIMAL(18,6)", "a number with at most 6 decimals"),
    "double": ("DOUBLE", "a number"),
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
    aliases: tuple[str, ...] = ()  # other header names this column arrives under
    known_in: str | None = None  # "<source>.<column>": values must exist there
    not_after_as_of: bool = False  # a value after the run's as_of rejects the row
    source_column: str | None = None  # a profile's header name for this column
    value_map: tuple[tuple[str, str], ...] = ()  # a profile's values -> contract values
    expected: tuple[str, ...] = ()  # values outside this list load, with a warning

    @property
    def sql_type(self) -> str:
        return SQL_TYPES[self.type][0]


@dataclass(frozen=True)
class CsvFormat:
    """How a source's files are read. `auto` detects per file (encoding: UTF-8, UTF-8
    with BOM or cp1251; delimiter: `,` `;` tab or `|` from the header line); a source
    pins either in contract.yml. Dates are tried in the listed formats, in order."""

    delimiter: str = "auto"
    quote: str = '"'
    date_formats: tuple[str, ...] = ("%Y-%m-%d",)
    timestamp_formats: tuple[str, ...] = ("%Y-%m-%d %H:%M:%S",)
    encoding: str = "auto"


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
    file_name: str | None = None  # a profile's file name instead of <name>.csv/.parquet

    @property
    def required_columns(self) -> list[str]:
        return [c.name for c in self.columns if c.required]

    @property
    def reference_sources(self) -> list[str]:
        """Sources whose values this one is checked against (loaded before it)."""
        return sorted({c.known_in.split(".")[0] for c in self.columns if c.known_in})

    def column(self, name: str) -> ColumnSpec:
        return next(c for c in self.columns if c.name == name)


def _csv_format(base: dict, override: dict) -> CsvFormat:
    merged = {**base, **override}
    for key in ("date_formats", "timestamp_formats"):
        if key in merged:
            merged[key] = tuple(merged[key])
    return CsvFormat(**merged)


def apply_profile(contract: dict[str, SourceSpec], path: Path) -> dict[str, SourceSpec]:
    """Map a source system's exports onto the contract (a profile file, e.g.
    config/profiles/maven_crm.yml): per source, the file name, which header column
    feeds each contract column, and value translations. Code stays the same."""
    raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    mapped = dict(contract)
    for name, body in raw["sources"].items():
        if name not in contract:
            raise ValueError(f"{path}: {name} is not a source of the contract")
        spec = contract[name]
        columns = body.get("columns", {})
        values = body.get("values", {})
        expected = body.get("expected", {})
        unknown = (set(columns) | set(values) | set(expected)) - {c.name for c in spec.columns}
        if unknown:
            raise ValueError(f"{path}: {name} has no column(s) {', '.join(sorted(unknown))}")
        mapped[name] = replace(
            spec,
            file_name=body.get("file"),
            columns=tuple(
                replace(
                    c,
                    source_column=columns.get(c.name),
                    value_map=tuple((str(k), str(v)) for k, v in values.get(c.name, {}).items()),
                    expected=tuple(str(v) for v in expected.get(c.name, c.expected)),
                )
                for c in spec.columns
            ),
            csv=_csv_format(spec.csv.__dict__, body["csv"]) if body.get("csv") else spec.csv,
        )
    return mapped


def load_contract(path: Path, profile: Path | None = None) -> dict[str, SourceSpec]:
    raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    base = raw.get("csv", {})
    csv = _csv_format(base, {})
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
                    aliases=tuple(str(a) for a in col.get("aliases", ())),
                    known_in=col.get("known_in"),
                    not_after_as_of=bool(col.get("not_after_as_of", False)),
                    expected=tuple(str(v) for v in col.get("expected", ())),
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
            csv=_csv_format(base, body.get("csv", {})) if body.get("csv") else csv,
        )
    return apply_profile(sources, profile) if profile else sources
