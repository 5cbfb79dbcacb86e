"""The export contract (config/contract.yml) and source-system profiles as typed objects.

A profile (config/profiles/<system>.yml) maps one system's own exports onto the
contract without code: per contract source, the file name patterns, which header
column (or expression over the header columns) feeds each contract column, value
translations, row filters, and how its files are read. The profile language is
documented in docs/profiles.md; every mistake in a profile is refused with the
profile file, the source and the key.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import yaml

from pipelines.ingest.expressions import ExpressionError, validate_expression

log = logging.getLogger(__name__)

# Contract type -> (DuckDB type, words for an error message). Rates keep 18 decimals:
# at 6, 1/4500 becomes 0.000222, 0.1% low on every amount converted with it.
SQL_TYPES: dict[str, tuple[str, str]] = {
    "varchar": ("VARCHAR", "text"),
    "integer": ("BIGINT", "a whole number"),
    "decimal": ("DECIMAL(18,2)", "a number"),
    "rate": ("DECIMAL(38,18)", "a number"),
    "double": ("DOUBLE", "a number"),
    "date": ("DATE", "a date"),
    "timestamp": ("TIMESTAMP", "a timestamp"),
    "boolean": ("BOOLEAN", "true or false (also 1/0, yes/no, да/нет)"),
}

# Encodings tried in order when a source says `auto`. UTF-16 with a BOM is recognised
# by its BOM whatever the list says.
AUTO_ENCODINGS = ("utf-8", "cp1251")


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
    expected: tuple[str, ...] = ()  # values outside this list load, with a warning
    # What a profile says of it:
    source_column: tuple[str, ...] = ()  # the header column that feeds it (first found)
    expression: str | None = None  # or a SQL expression over the header columns
    null_if: tuple[str, ...] = ()  # raw values that mean "none" (Salesforce's null id)
    scale: float | None = None  # multiply the typed value (percent -> share: 0.01)
    value_map: tuple[tuple[str, str], ...] = ()  # the system's values -> contract values
    fallback: str | None = None  # the contract value for a value the map does not name

    @property
    def sql_type(self) -> str:
        return SQL_TYPES[self.type][0]


@dataclass(frozen=True)
class CsvFormat:
    """How a source's files are read. `auto` detects per file (encoding: the first of
    AUTO_ENCODINGS that decodes the whole file, or UTF-16 by its BOM; delimiter: `,`
    `;` tab or `|` from the header line); a source pins either. Dates are tried in the
    listed formats, in order."""

    delimiter: str = "auto"
    quote: str = '"'
    date_formats: tuple[str, ...] = ("%Y-%m-%d",)
    timestamp_formats: tuple[str, ...] = ("%Y-%m-%d %H:%M:%S",)
    encoding: tuple[str, ...] = AUTO_ENCODINGS
    sheet: str | None = None  # the worksheet of an .xlsx/.xls export (default: the first)


@dataclass(frozen=True)
class RowFilter:
    """Rows a profile skips (deleted, test or other record types): counted as filtered
    in load_report, never lost."""

    where: str  # SQL condition over the header columns
    reason: str


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
    # Each row must give at least one of these columns (fx: rate_to_reporting or
    # units_per_reporting); a file must carry at least one of them.
    one_of: tuple[str, ...] = ()
    file_patterns: tuple[str, ...] = ()  # a profile's file names (globs), tried first
    skip: tuple[RowFilter, ...] = ()
    distinct: bool = False  # rows repeating an earlier row are filtered (accounts from deals)
    profile: str | None = None  # the profile file that mapped this source
    # Several exports feeding one source (Salesforce activities from Task.csv and
    # Event.csv), each mapped on its own; loaded in order, a later key replacing an
    # earlier one. `part` names one of them in load_report.
    parts: tuple[SourceSpec, ...] = ()
    part: str = ""

    @property
    def required_columns(self) -> list[str]:
        return [c.name for c in self.columns if c.required]

    @property
    def reference_sources(self) -> list[str]:
        """Sources whose values this one is checked against (loaded before it)."""
        return sorted({c.known_in.split(".")[0] for c in self.columns if c.known_in})

    @property
    def contract_file_names(self) -> tuple[str, ...]:
        """The names that always match, whatever the profile says."""
        return tuple(f"{self.name}{s}" for s in EXPORT_SUFFIXES)

    def column(self, name: str) -> ColumnSpec:
        return next(c for c in self.columns if c.name == name)


EXPORT_SUFFIXES = (".csv", ".csv.gz", ".tsv", ".txt", ".parquet", ".xlsx", ".xls")


class ProfileError(ValueError):
    """A mistake in a profile file, named by file, source and key."""


def _encodings(value: Any) -> tuple[str, ...]:
    names = [value] if isinstance(value, str) else list(value)
    out: list[str] = []
    for name in names:
        out.extend(AUTO_ENCODINGS if str(name).lower() == "auto" else [str(name).lower()])
    return tuple(out)


CSV_KEYS = {"delimiter", "quote", "date_formats", "timestamp_formats", "encoding", "sheet"}


def _csv_format(base: CsvFormat, override: dict, where: str) -> CsvFormat:
    unknown = set(override) - CSV_KEYS
    if unknown:
        raise ProfileError(
            f"{where}: csv has no key(s) {', '.join(sorted(unknown))}; "
            f"allowed: {', '.join(sorted(CSV_KEYS))}"
        )
    merged = dict(override)
    for key in ("date_formats", "timestamp_formats"):
        if key in merged:
            merged[key] = tuple(merged[key])
    if "encoding" in merged:
        merged["encoding"] = _encodings(merged["encoding"])
    return replace(base, **merged)


COLUMN_KEYS = {"from", "expr", "null_if", "scale", "map", "fallback"}
SOURCE_KEYS = {"file", "csv", "columns", "values", "fallback", "expected", "skip", "distinct"}
PARTS_KEY = "parts"


def _mapped_column(col: ColumnSpec, body: dict, where: str) -> ColumnSpec:
    """A contract column as a profile maps it: `name: Header` or `name: {from: Header,
    null_if: [...], scale: 0.01, map: {...}, fallback: value}` or `name: {expr: SQL}`."""
    where = f"{where}.columns.{col.name}"
    mapping = body["columns"].get(col.name)
    if mapping is None:
        spec: dict = {}
    elif isinstance(mapping, str):
        spec = {"from": mapping}
    elif isinstance(mapping, dict):
        spec = mapping
    else:
        raise ProfileError(f"{where}: expected a header name or a mapping, got {mapping!r}")
    unknown = set(spec) - COLUMN_KEYS
    if unknown:
        raise ProfileError(
            f"{where}: unknown key(s) {', '.join(sorted(unknown))}; "
            f"allowed: {', '.join(sorted(COLUMN_KEYS))}"
        )
    if "from" in spec and "expr" in spec:
        raise ProfileError(f"{where}: give either `from` or `expr`, not both")
    expression = spec.get("expr")
    if expression is not None:
        try:
            validate_expression(str(expression))
        except ExpressionError as exc:
            raise ProfileError(f"{where}.expr: {exc}") from exc
    value_map = {**body.get("values", {}).get(col.name, {}), **spec.get("map", {})}
    fallback = spec.get("fallback", body.get("fallback", {}).get(col.name))
    if col.values and fallback is not None and fallback not in col.values:
        raise ProfileError(
            f"{where}: fallback {fallback!r} is not an accepted value "
            f"({', '.join(map(str, col.values))})"
        )
    if spec.get("scale") is not None and col.type not in ("integer", "decimal", "rate", "double"):
        raise ProfileError(f"{where}: scale applies to numbers, not to {col.type}")
    return replace(
        col,
        source_column=tuple(
            str(n)
            for n in ([spec["from"]] if isinstance(spec.get("from"), str) else spec.get("from", ()))
        ),
        expression=str(expression) if expression is not None else None,
        null_if=tuple(str(v) for v in spec.get("null_if", ())),
        scale=float(spec["scale"]) if spec.get("scale") is not None else None,
        value_map=tuple((str(k), str(v)) for k, v in value_map.items()),
        fallback=str(fallback) if fallback is not None else None,
        expected=tuple(str(v) for v in body.get("expected", {}).get(col.name, col.expected)),
    )


def _row_filters(body: dict, where: str) -> tuple[RowFilter, ...]:
    filters = []
    for i, item in enumerate(body.get("skip", ())):
        if not isinstance(item, dict) or set(item) != {"where", "reason"}:
            raise ProfileError(f"{where}.skip[{i}]: expected {{where: SQL, reason: words}}")
        try:
            validate_expression(str(item["where"]))
        except ExpressionError as exc:
            raise ProfileError(f"{where}.skip[{i}].where: {exc}") from exc
        filters.append(RowFilter(str(item["where"]), str(item["reason"])))
    return tuple(filters)


def _mapped_source(
    spec: SourceSpec, body: dict, where: str, profile_csv: CsvFormat, profile: str
) -> SourceSpec:
    """One export's mapping onto a contract source."""
    unknown = set(body) - SOURCE_KEYS
    if unknown:
        raise ProfileError(
            f"{where}: unknown key(s) {', '.join(sorted(unknown))}; "
            f"allowed: {', '.join(sorted(SOURCE_KEYS | {PARTS_KEY}))}"
        )
    body = {**body, "columns": body.get("columns") or {}}
    names = {c.name for c in spec.columns}
    for key in ("columns", "values", "fallback", "expected"):
        unknown_columns = set(body.get(key, {})) - names
        if unknown_columns:
            raise ProfileError(
                f"{where}.{key}: no contract column(s) {', '.join(sorted(unknown_columns))}"
                f"; the {spec.name} contract has: {', '.join(sorted(names))}"
            )
    files = body.get("file", ())
    return replace(
        spec,
        file_patterns=tuple([files] if isinstance(files, str) else files),
        columns=tuple(_mapped_column(c, body, where) for c in spec.columns),
        csv=_csv_format(profile_csv, body.get("csv") or {}, f"{where}.csv"),
        skip=_row_filters(body, where),
        distinct=bool(body.get("distinct", False)),
        profile=profile,
    )


def apply_profile(contract: dict[str, SourceSpec], path: Path) -> dict[str, SourceSpec]:
    """Map a source system's exports onto the contract. Code stays the same."""
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise ProfileError(f"{path}: cannot be read as a profile ({exc})") from exc
    unknown_top = set(raw) - {"description", "csv", "sources"}
    if unknown_top:
        raise ProfileError(
            f"{path}: unknown key(s) {', '.join(sorted(unknown_top))}; "
            "allowed: description, csv, sources"
        )
    mapped = dict(contract)
    for name, body in (raw.get("sources") or {}).items():
        where = f"{path.name}: sources.{name}"
        if name not in contract:
            raise ProfileError(
                f"{where}: not a source of the contract ({', '.join(sorted(contract))})"
            )
        body = body or {}
        spec = contract[name]
        if spec.profile:
            # CRM + billing (salesforce,stripe): both may map accounts; the first listed
            # wins, so the CRM's accounts are the client base.
            log.warning(
                "%s: %s is already mapped by %s, listed earlier; this mapping is not used",
                where,
                name,
                spec.profile,
            )
            continue
        profile_csv = _csv_format(spec.csv, raw.get("csv") or {}, f"{path.name}: csv")
        if PARTS_KEY in body:
            if set(body) != {PARTS_KEY} or not isinstance(body[PARTS_KEY], list):
                raise ProfileError(
                    f"{where}: `parts` is a list of mappings, and the source's only key"
                )
            parts = tuple(
                _mapped_source(spec, part or {}, f"{where}.parts[{i}]", profile_csv, path.name)
                for i, part in enumerate(body[PARTS_KEY])
            )
            if not parts:
                raise ProfileError(f"{where}.parts: empty")
            parts = tuple(
                replace(p, part=p.file_patterns[0] if p.file_patterns else str(i))
                for i, p in enumerate(parts)
            )
            mapped[name] = replace(parts[0], parts=parts, part="")
        else:
            mapped[name] = _mapped_source(spec, body, where, profile_csv, path.name)
    return mapped


def load_contract(path: Path, profiles: Path | list[Path] | None = None) -> dict[str, SourceSpec]:
    raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    csv = _csv_format(CsvFormat(), raw.get("csv", {}), f"{path.name}: csv")
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
            csv=_csv_format(csv, body.get("csv", {}), f"{path.name}: {name}.csv"),
            one_of=tuple(body.get("one_of", ())),
        )
    if profiles is None:
        return sources
    for profile in [profiles] if isinstance(profiles, Path) else profiles:
        if not profile.is_file():
            known = sorted(p.stem for p in (path.parent / "profiles").glob("*.yml"))
            raise ProfileError(
                f"profile {profile} not found; built-in profiles: {', '.join(known)}"
            )
        sources = apply_profile(sources, profile)
    return sources


def deployment_contract(contract_path: str, profile_paths: list[str]) -> dict[str, SourceSpec]:
    """The contract as a deployment's profiles (PipelineSettings) map it."""
    return load_contract(Path(contract_path), [Path(p) for p in profile_paths])
