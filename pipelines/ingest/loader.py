"""Load one export file into a typed warehouse table, sending every bad row to the rejects.

pipelines/ingest/reading.py finds the file and makes it UTF-8 text with a header of unique
names; DuckDB's CSV reader parses it (explicit delimiter, quote and one VARCHAR column
per header field: nothing is sniffed per file); typing is done in SQL so that every
value that does not fit is reported with its line, column and what was expected
instead of being dropped. Line numbers count records the way DuckDB's own rejects
do: the header is line 1, the first data record line 2.

Every rule a row can break is one named `Check` (ROW_CHECKS below), written once: the
same condition flags the row in the typing pass and words its reject.

Invariant, checked on every load: rows_read == rows_loaded + rows_filtered + rows_rejected.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import shutil
import tempfile
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from functools import partial
from pathlib import Path

import duckdb

from pipelines.db import fetch_one
from pipelines.ingest.contract import SQL_TYPES, ColumnSpec, RowFilter, SourceSpec
from pipelines.ingest.expressions import validate_expression
from pipelines.ingest.reading import (
    ContractError,
    TextFile,
    find_export,
    prepare_text,
    unique_header,
)

__all__ = [
    "ContractError",
    "LoadResult",
    "RowRules",
    "find_export",
    "known_values",
    "load_export",
    "load_source",
    "source_files",
]

RAW_SCHEMA = "raw"
# The record's line in the file, which a profile expression may read (`_line`): the
# line number of a register that numbers nothing itself.
LINE_COLUMN = "_line"
REJECTS_TABLE = f"{RAW_SCHEMA}.rejects"
LOAD_REPORT_TABLE = f"{RAW_SCHEMA}.load_report"


@dataclass
class LoadResult:
    source: str
    file_name: str | None
    sha256: str | None
    rows_read: int
    rows_loaded: int
    rows_rejected: int
    rows_in_table: int
    rows_filtered: int = 0
    extra_columns: list[str] = field(default_factory=list)
    missing_optional_columns: list[str] = field(default_factory=list)
    reject_reasons: dict[str, int] = field(default_factory=dict)
    filter_reasons: dict[str, int] = field(default_factory=dict)
    encoding: str | None = None
    delimiter: str | None = None
    # Values outside a column's expected list (loaded, but likely typos): column -> {value: rows}
    unexpected_values: dict[str, dict[str, int]] = field(default_factory=dict)
    # Values a profile's map does not name, loaded as its fallback: column -> {value: rows}
    unmapped_values: dict[str, dict[str, int]] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    note: str = ""
    part: str = ""  # which export of a source with several (load_report's key with source)
    # Seconds per phase of the load (read, scan, type, check, write, ...), for the run log.
    timings: dict[str, float] = field(default_factory=dict)


@contextmanager
def _phase(timings: dict[str, float], name: str) -> Iterator[None]:
    start = time.perf_counter()
    try:
        yield
    finally:
        timings[name] = timings.get(name, 0.0) + time.perf_counter() - start


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def ensure_meta_tables(con: duckdb.DuckDBPyConnection) -> None:
    con.execute(f"create schema if not exists {RAW_SCHEMA}")
    con.execute(
        f"""create table if not exists {REJECTS_TABLE} (
            run_id varchar, source varchar, file_name varchar, line bigint,
            column_name varchar, value varchar, reason varchar, rejected_at timestamp)"""
    )
    columns = {
        r[0]
        for r in con.execute(
            "select column_name from information_schema.columns "
            "where table_schema = ? and table_name = 'load_report'",
            [RAW_SCHEMA],
        ).fetchall()
    }
    if columns and "part" not in columns:
        # A warehouse made before a source could have several exports: one row per
        # source becomes one row per (source, part), the old rows kept as part ''.
        con.execute(f"alter table {LOAD_REPORT_TABLE} rename to load_report_before_parts")
    con.execute(
        f"""create table if not exists {LOAD_REPORT_TABLE} (
            source varchar, part varchar default '', file_name varchar, sha256 varchar,
            rows_read bigint, rows_loaded bigint, rows_rejected bigint,
            rows_in_table bigint, run_id varchar, loaded_at timestamp,
            rows_filtered bigint default 0, note varchar default '',
            primary key (source, part))"""
    )
    if columns and "part" not in columns:
        con.execute(
            f"insert into {LOAD_REPORT_TABLE} by name "
            f"select * from {RAW_SCHEMA}.load_report_before_parts"
        )
        con.execute(f"drop table {RAW_SCHEMA}.load_report_before_parts")


def _quote_ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _sql_literal(value: object) -> str:
    return "'" + str(value).replace("'", "''") + "'"


def _listed(values) -> str:
    return ", ".join(_sql_literal(v) for v in values) or "''"


# ---------------------------------------------------------------------------------------
# Header: which header field (or profile expression) feeds each contract column


def map_header(spec: SourceSpec, header: list[str]) -> dict[str, str]:
    """Contract column -> the SQL over the scan's columns that gives its raw text: the
    header field it arrives under (the profile's `from`, its own name or an alias), or
    the profile's expression when every header column it reads is present."""
    fields = {h.strip().lower(): h for h in header}
    mapping = {}
    for col in spec.columns:
        if col.expression:
            reads = validate_expression(col.expression) - {LINE_COLUMN}
            if all(name.lower() in fields for name in reads):
                mapping[col.name] = f"(({col.expression})::varchar)"
            continue
        for name in col.source_column or (col.name, *col.aliases):
            if name.strip().lower() in fields:
                mapping[col.name] = _quote_ident(fields[name.strip().lower()])
                break
    return mapping


def _wanted_names(col: ColumnSpec) -> str:
    if col.expression:
        return f"the header columns of {col.expression!r}"
    if col.source_column:
        return " or ".join(map(repr, col.source_column))
    return col.name + (f" (or {', '.join(col.aliases)})" if col.aliases else "")


def check_contract(path: Path, spec: SourceSpec, header: list[str]) -> dict[str, str]:
    mapped = map_header(spec, header)
    missing = [_wanted_names(c) for c in spec.columns if c.required and c.name not in mapped]
    if spec.one_of and not any(c in mapped for c in spec.one_of):
        missing.append("one of " + ", ".join(spec.one_of))
    if missing:
        profile = f" (profile {spec.profile})" if spec.profile else ""
        raise ContractError(
            f"{path.name}: missing required column(s) {'; '.join(missing)}{profile}; "
            f"columns found: {', '.join(header) or '(none)'}; "
            f"the {spec.name} contract requires: {', '.join(spec.required_columns)}"
        )
    return mapped


def _filter_columns_absent(rule: RowFilter, header: list[str]) -> list[str]:
    present = {h.lower() for h in header} | {LINE_COLUMN}
    return sorted(n for n in validate_expression(rule.where) if n.lower() not in present)


def applicable_filters(spec: SourceSpec, header: list[str]) -> list[RowFilter]:
    """The profile's filters this file has the columns for. A profile read by several
    layouts of one system (Bitrix24's English and Russian interfaces) names columns
    only one of them has; a filter it cannot apply is said so in a warning."""
    return [rule for rule in spec.skip if not _filter_columns_absent(rule, header)]


# ---------------------------------------------------------------------------------------
# Scan: DuckDB's CSV reader, one VARCHAR column per header field; structural rejects aside


def _source_relation(
    con, path: Path, spec: SourceSpec, text: TextFile | None, read_types: dict[str, str]
) -> str:
    """The file as SQL: one column per (unique) header name, VARCHAR but for the fields
    in `read_types`, which the reader types itself (typed_by_reader). A CSV's bad
    records (a field too many, an unclosed quote, a value of a typed field the reader
    cannot cast) go to _reject_errors as it is read."""
    for temp in ("_reject_errors", "_reject_scans"):
        con.execute(f"drop table if exists {temp}")
    if text is None:  # Parquet: typed by its writer; read as text and typed like CSV
        names, header = _parquet_header(con, path)
        projection = ", ".join(
            f"{_quote_ident(n)}::varchar as {_quote_ident(h)}"
            for n, h in zip(names, header, strict=True)
        )
        return f"(select {projection} from read_parquet({_sql_literal(str(path))}))"
    return _read_csv(text, spec, {h: read_types.get(h, "VARCHAR") for h in text.header})


def _read_csv(
    text: TextFile, spec: SourceSpec, columns: dict[str, str], ignore_errors: bool | None = None
) -> str:
    """read_csv of the text file as the contract reads it: the given column types, no
    detection; bad records to _reject_errors, or (ignore_errors given) not kept."""
    listed = "{" + ", ".join(f"{_sql_literal(h)}: {_sql_literal(t)}" for h, t in columns.items())
    settings = {
        "header": "true",
        "auto_detect": "false",
        "delim": _sql_literal(text.delimiter),
        "quote": _sql_literal(spec.csv.quote),
        "escape": _sql_literal(spec.csv.quote),
        "strict_mode": "true",
    }
    if ignore_errors is None:
        settings |= {
            "store_rejects": "true",
            "rejects_table": "'_reject_errors'",
            "rejects_scan": "'_reject_scans'",
        }
    else:
        settings["ignore_errors"] = str(ignore_errors).lower()
    given = ", ".join(f"{k}={v}" for k, v in settings.items())
    return f"read_csv({_sql_literal(str(text.path))}, columns={listed}}}, {given})"


# A field is typed by the CSV reader when its first values are all in the reader's own
# format: checked on this many records, so that a column exported in another format
# (05.01.2024) is not turned into one reject per row.
READER_TYPES_SAMPLE = 1000


def typed_by_reader(
    con,
    spec: SourceSpec,
    text: TextFile | None,
    mapped: dict[str, str],
    header: list[str],
    checks: list[Check],
) -> dict[str, str]:
    """Header field -> the type DuckDB's CSV reader reads it as, for the contract's
    dates and numbers that arrive plainly (no null markers, map, fallback or scale) in
    one header field no expression or filter reads. The reader types such a field at a
    fraction of the cost of casting its text; what it takes, it takes as the text path's
    plain cast would (tested value by value in tests/test_loader.py); a value it refuses
    (a formatted number, a date in one of the profile's formats, a defect) sends its
    record through the text path (_retype_refused). Its text is not kept, so a field a
    check may reject for a value it took (a date after as_of) stays text: the reject
    shows the value as exported ("2026-12-03 10:00", not the date it was read as)."""
    if text is None:
        return {}
    shows_value = {c.column for c in checks if c.name in VALUE_CHECKS}
    reads = [validate_expression(c.expression) for c in spec.columns if c.expression]
    reads += [validate_expression(rule.where) for rule in spec.skip]
    read_elsewhere = {name.lower() for names in reads for name in names}
    fields = {_quote_ident(h): h for h in header}
    sources = [mapped[c.name] for c in spec.columns if c.name in mapped]
    candidates = {}
    for c in spec.columns:
        field_name = fields.get(mapped.get(c.name, ""))
        if (
            field_name is None
            or c.type not in READER_TYPES
            or c.null_if
            or c.value_map
            or c.fallback is not None
            or c.scale is not None
            or field_name.lower() in read_elsewhere
            or sources.count(mapped[c.name]) > 1
            or c.name in shows_value
        ):
            continue
        candidates[field_name] = READER_TYPES[c.type]
    if not candidates:
        return {}
    sample = _read_csv(
        text,
        spec,
        {h: "VARCHAR" for h in text.header},
        ignore_errors=True,
    )
    refused = ", ".join(
        f"count(*) filter (where nullif(trim({_quote_ident(h)}), '') is not null "
        f"and try_cast(trim({_quote_ident(h)}) as {t}) is null)"
        for h, t in candidates.items()
    )
    counts = fetch_one(
        con, f"select {refused} from (select * from {sample} limit {READER_TYPES_SAMPLE})"
    )
    return {h: t for (h, t), n in zip(candidates.items(), counts, strict=True) if not n}


# The contract types the reader may type, and as what: a whole number through an exact
# decimal, so that 5.0 and 5.5 round as the text path rounds them.
READER_TYPES = {
    "date": SQL_TYPES["date"][0],
    "decimal": SQL_TYPES["decimal"][0],
    "integer": "DECIMAL(18,0)",
}
# The checks that can reject a value the reader would take, and show it.
VALUE_CHECKS = ("not_accepted", "unknown_reference", "after_as_of")
# The records the reader refused only for the value of a field it typed.
REFUSED_FOR_A_VALUE = (
    "select line from _reject_errors group by line having bool_and(error_type = 'CAST')"
)


def _collect_structural(con, text: TextFile | None) -> None:
    """_structural: the records the reader refused for their structure, once the file
    has been read (the records refused only for a typed field's value are in _retyped)."""
    if text is None:
        con.execute(
            "create temp table _structural (line bigint, column_name varchar, "
            "value varchar, reason varchar)"
        )
        return
    con.execute(
        f"""create temp table _structural as
           select line, coalesce(column_name, '') as column_name, csv_line as value,
                  lower(error_type) || ': ' || error_message as reason
           from _reject_errors
           where line not in ({REFUSED_FOR_A_VALUE})"""
    )


# Up to this many gaps, a record's line is computed by a CASE over literal bounds;
# more need a join of every row to the gaps.
LITERAL_GAPS = 64


def _number_lines(con, rows: str, view: str, line: str) -> None:
    """`view`: the table `rows`, read in file order, with its rowid as _row and each
    record's line in the file as `line`. Records are stored in file order (insertion
    order is preserved), so rowid k is the (k+1)-th good record; its line skips over
    the lines rejected before it (_structural) and those typed again (_retyped, whose
    rows follow the others with their line in _retyped_line)."""
    con.execute(
        "create or replace temp table _skipped as select distinct line from _structural"
        + (" union select line from _retyped" if _exists(con, "_retyped") else "")
    )
    retyped = "_retyped_line" in {
        r[0] for r in con.execute(f"select name from pragma_table_info('{rows}')").fetchall()
    }
    exclude = "_row, _retyped_line" if retyped else "_row"
    # _gaps: for each count of good records before a skipped line, how many lines
    # were skipped up to there; a record's line adds the last such shift before it.
    con.execute(
        """create or replace temp table _gaps as
           select good_before, sum(count(*)) over (order by good_before) as shift
           from (select line - 1 - row_number() over (order by line) as good_before
                 from _skipped)
           group by good_before"""
    )
    if fetch_one(con, "select count(*) from _gaps")[0] <= LITERAL_GAPS:
        gaps = con.execute("select good_before, shift from _gaps order by 1 desc").fetchall()
        shift = "0"
        if gaps:
            bounds = " ".join(f"when _row >= {g} then {n}" for g, n in gaps)
            shift = f"case {bounds} else 0 end"
        numbered = f"_row + 2 + {shift}"
        if retyped:
            numbered = f"coalesce(_retyped_line, {numbered})"
        con.execute(
            f"""create temp view {view} as
                select _row, {numbered} as {line}, * exclude ({exclude})
                from (select rowid as _row, * from {rows})"""
        )
        return
    numbered = "r._row + 2 + coalesce(g.shift, 0)"
    if retyped:
        numbered = f"coalesce(r._retyped_line, {numbered})"
    con.execute(
        f"""create temp view {view} as
            select r._row, {numbered} as {line}, r.* exclude ({exclude})
            from (select rowid as _row, * from {rows}) r
            asof left join _gaps g on r._row >= g.good_before"""
    )


def _exists(con, table: str) -> bool:
    return bool(
        fetch_one(con, "select count(*) from duckdb_tables() where table_name = ?", [table])[0]
    )


def _reads_line(spec: SourceSpec, mapped: dict[str, str], header: list[str]) -> bool:
    """Whether a profile expression or filter reads the record's line (`_line`)."""
    reads = [
        validate_expression(c.expression) for c in spec.columns if c.expression and c.name in mapped
    ]
    reads += [validate_expression(rule.where) for rule in applicable_filters(spec, header)]
    return any(LINE_COLUMN in {n.lower() for n in names} for names in reads)


def _parquet_header(con, path: Path) -> tuple[list[str], list[str]]:
    """The Parquet file's column names, and the unique names they are read under."""
    try:
        described = con.execute("select * from read_parquet(?) limit 0", [str(path)])
    except duckdb.Error as exc:
        raise ContractError(f"{path.name}: cannot be read as Parquet ({exc})") from exc
    names = [d[0] for d in described.description]
    return names, unique_header(names)[0]


# ---------------------------------------------------------------------------------------
# Values: from raw text to the contract's types


NUMERIC_TYPES = ("integer", "decimal", "rate", "double")
TRUE_WORDS = ("1", "true", "t", "yes", "y", "да", "д", "истина", "on")
FALSE_WORDS = ("0", "false", "f", "no", "n", "нет", "н", "ложь", "off")
# Currency signs and words a number may carry in an export: "1 234,56 ₽", "$1,234.56".
CURRENCY_MARKS = r"(₽|\$|€|£|¥|₹|₸|₴|руб\.?|р\.|rub\b|usd\b|eur\b)"


def _formats(formats: tuple[str, ...]) -> str:
    return "[" + ", ".join(_sql_literal(f) for f in formats) + "]"


def _number_text(value: str) -> str:
    """Numbers as exported by Russian and English tools, made castable: currency signs
    and `руб.` go; `(123.45)` is an accounting negative; spaces and (narrow) no-break
    spaces as thousands separators go; `1 234,56` and `1.234,56` (decimal comma)
    become 1234.56; `1,234.56` (comma thousands) becomes 1234.56. A lone comma between
    digits is a decimal comma. Only values the plain cast refused get here."""
    unsigned = f"trim(regexp_replace(lower({value}), {_sql_literal(CURRENCY_MARKS)}, '', 'g'))"
    signed = (
        f"(case when starts_with({unsigned}, '(') and ends_with({unsigned}, ')') "
        f"then '-' || trim({unsigned}, '()') else {unsigned} end)"
    )
    packed = f"regexp_replace({signed}, '[ \u00a0\u202f]', '', 'g')"
    return (
        f"(case when not contains({packed}, ',') then {packed} "
        f"when regexp_full_match({packed}, '[+-]?[0-9]{{1,3}}(,[0-9]{{3}})+([.][0-9]+)?') "
        f"then replace({packed}, ',', '') "
        f"else replace(replace({packed}, '.', ''), ',', '.') end)"
    )


def _clean(col: ColumnSpec, raw: str) -> str:
    """The raw text with the profile's null markers, value map and fallback applied,
    trimmed, empty as NULL."""
    value = raw
    if col.null_if:
        value = f"(case when trim({value}) in ({_listed(col.null_if)}) then null else {value} end)"
    if col.value_map or col.fallback is not None:
        cases = " ".join(f"when {_sql_literal(k)} then {_sql_literal(v)}" for k, v in col.value_map)
        otherwise = value
        if col.fallback is not None:
            otherwise = (
                f"(case when nullif(trim({value}), '') is null or trim({value}) in "
                f"({_listed(col.values)}) then {value} else {_sql_literal(col.fallback)} end)"
            )
        value = f"(case trim({value}) {cases} else {otherwise} end)" if cases else otherwise
    return f"nullif(trim({value}), '')"


def _typed_expr(col: ColumnSpec, value: str, spec: SourceSpec) -> str:
    """`value` (cleaned text) as the column's type; NULL where it does not fit. A plain
    cast first: it takes the ISO values that make up most files at a fraction of the
    cost of the format list, which only sees what the cast did not take."""
    if col.type == "date":
        typed = (
            f"coalesce(try_cast({value} as date), "
            f"try_strptime({value}, {_formats(spec.csv.date_formats)})::date)"
        )
    elif col.type == "timestamp":
        typed = (
            f"coalesce(try_cast({value} as timestamp), "
            f"try_strptime({value}, {_formats(spec.csv.timestamp_formats)}))"
        )
    elif col.type == "boolean":
        typed = (
            f"(case when lower({value}) in ({_listed(TRUE_WORDS)}) then true "
            f"when lower({value}) in ({_listed(FALSE_WORDS)}) then false end)"
        )
    elif col.type in NUMERIC_TYPES:
        # Through a wide decimal so that extra decimals are rounded half-up, not refused.
        wide = "DECIMAL(38,18)" if col.type != "double" else "DOUBLE"
        # The formatted-number fallback runs inside a lambda: its repeated parts depend
        # on the lambda's own argument, so DuckDB's common-subexpression optimizer cannot
        # lift them out of the coalesce and run its regexps on every value (the typing
        # pass of 96M invoice lines: 242 s before, 188 s after).
        formatted = f"try_cast({_number_text('x')} as {wide})"
        fallback = f"(list_transform([{value}], lambda x: {formatted}))[1]"
        typed = f"coalesce(try_cast({value} as {wide}), {fallback})"
        if col.scale is not None:
            typed = f"({typed} * {col.scale!r})"
        typed = f"try_cast({typed} as {col.sql_type})"
        if col.scale is None and col.type in ("decimal", "integer"):
            # A plain number that fits the column's own precision needs no 38-digit
            # decimal: the narrow cast rounds half away from zero as the wide one does,
            # at a tenth of its cost (8.9 s against 0.9 s for 9.6M amounts).
            narrow = "DECIMAL(18,0)" if col.type == "integer" else col.sql_type
            typed = f"coalesce(try_cast(try_cast({value} as {narrow}) as {col.sql_type}), {typed})"
    else:
        typed = f"try_cast({value} as {col.sql_type})"
    return typed


# ---------------------------------------------------------------------------------------
# Checks: every rule a row can break, named once


@dataclass(frozen=True)
class RowRules:
    """What a row is checked against beyond its own file: the values other sources
    know (e.g. currencies with a rate) and the run's explicit as_of."""

    known_values: dict[str, tuple[str, ...]] = field(default_factory=dict)
    as_of: dt.date | None = None


def known_values(
    con: duckdb.DuckDBPyConnection, spec: SourceSpec, reporting_currency: str
) -> dict[str, tuple[str, ...]]:
    """The values other sources know, read from what is already loaded: a currency
    needs a rate (or is the reporting currency); a product code must be in the catalogue.
    Without a catalogue tonight (products absent or empty) there is nothing to check a
    code against, so it is not checked; a currency without any rate still is."""
    known = {}
    for col in spec.columns:
        if col.known_in:
            source, column = col.known_in.split(".")
            rows = con.execute(f"select distinct upper({column}) from raw.{source}").fetchall()
            values = {r[0] for r in rows if r[0]}
            if col.name == "currency":
                values.add(reporting_currency.upper())
            elif not values:
                continue
            known[col.name] = tuple(sorted(values))
    return known


@dataclass(frozen=True)
class Check:
    """One rule a row can break. `condition` is SQL over the typing pass's columns: the
    typed contract column by its name, `_has_<column>` (a value was given), and the row
    flags; it both flags the row and, on the flagged rows only, words the reject.
    `value` is the raw text the reject shows."""

    name: str
    column: str
    condition: str
    reason: str
    value: str


def _has(column: str) -> str:
    return _quote_ident(f"_has_{column}")


def _unmapped(column: str) -> str:
    return _quote_ident(f"_unmapped_{column}")


def _raw(column: str) -> str:
    return _quote_ident(f"_raw_{column}")


def column_checks(col: ColumnSpec, spec: SourceSpec, rules: RowRules) -> list[Check]:
    typed, has, raw = _quote_ident(col.name), _has(col.name), _raw(col.name)
    expected = SQL_TYPES[col.type][1]
    if col.type == "date":
        expected += f" in one of the formats {', '.join(spec.csv.date_formats)}"
    elif col.type == "timestamp":
        expected += f" in one of the formats {', '.join(spec.csv.timestamp_formats)}"
    checks = []
    if col.key:
        reason = f"missing value: {col.name} is required"
        checks.append(Check("missing_key", col.name, f"not {has}", reason, raw))
    if col.type != "varchar":
        checks.append(
            Check("bad_type", col.name, f"{has} and {typed} is null", f"expected {expected}", raw)
        )
    if col.values:
        checks.append(
            Check(
                "not_accepted",
                col.name,
                f"{typed} is not null and {typed}::varchar not in ({_listed(col.values)})",
                f"expected one of: {', '.join(str(v) for v in col.values)}",
                raw,
            )
        )
    if col.known_in and col.name in rules.known_values:
        known = rules.known_values[col.name]
        checks.append(
            Check(
                "unknown_reference",
                col.name,
                f"{typed} is not null and upper({typed}) not in ({_listed(known)})",
                f"unknown {col.name}: not in {col.known_in} ({', '.join(known)})",
                raw,
            )
        )
    if col.not_after_as_of and rules.as_of is not None:
        checks.append(
            Check(
                "after_as_of",
                col.name,
                f"{typed} > date '{rules.as_of.isoformat()}'",
                f"{col.name} is after the run's as_of {rules.as_of.isoformat()}",
                raw,
            )
        )
    return checks


def source_checks(spec: SourceSpec, mapped: dict[str, str]) -> list[Check]:
    """Rules over the whole row: not data at all (a copy of the header, a total line),
    and at least one of the `one_of` columns given."""
    checks = [
        Check("repeated_header", "", "_repeated_header", "repeated header row, not data",
              "_raw_first"),
        Check("total_row", "", "_total_row", "total row, not data", "_raw_first"),
    ]  # fmt: skip
    given = [c for c in spec.one_of if c in mapped]
    if given:
        checks.append(
            Check(
                "one_of_missing",
                given[0],
                " and ".join(f"not {_has(c)}" for c in given),
                f"missing value: one of {', '.join(spec.one_of)} is required",
                _raw(given[0]),
            )
        )
    return checks


ROW_CHECKS = ("repeated_header", "total_row")
TOTAL_WORDS = ("итого", "всего", "total", "grand total")
TOTAL_ROW = "^(" + "|".join(TOTAL_WORDS) + ")([^[:alnum:]]|$)"
TOTAL_PREFIX = "^(?i)(" + "|".join(TOTAL_WORDS) + ")"


def _row_flags(header: list[str], typed_fields: set[str]) -> list[str]:
    """The header repeated inside the file (exports glued together: an exact copy of the
    header line), and a total line ("Итого", "Total") under the data. Written so that a
    data row fails them at the first cheap comparison: these run on every row. Where
    the reader typed fields, a copy of the header cannot be among its rows (a header
    name is no date or number: the reader refused it, and the text path flags it), nor
    a total line if it typed the first field."""
    first = _quote_ident(header[0])
    if typed_fields:
        total = "false" if first in typed_fields else _total_row(first)
        return ["false as _repeated_header", f"coalesce({total}, false) as _total_row"]
    same_as_header = " and ".join(f"{_quote_ident(h)} = {_sql_literal(h)}" for h in header)
    return [
        f"coalesce({same_as_header}, false) as _repeated_header",
        f"coalesce({_total_row(first)}, false) as _total_row",
    ]


def _total_row(first: str) -> str:
    # One anchored, case-blind regexp first: a fifth of the cost of four ILIKEs.
    prefix = f"regexp_matches({first}, {_sql_literal(TOTAL_PREFIX)})"
    return f"{prefix} and regexp_matches(lower(trim({first})), {_sql_literal(TOTAL_ROW)})"


# ---------------------------------------------------------------------------------------
# The load


def source_files(exports_dir: Path, spec: SourceSpec) -> list[tuple[SourceSpec, Path | None]]:
    """Each export of a source (one, or one per part) with the file found for it."""
    return [(part, find_export(exports_dir, part)) for part in spec.parts or (spec,)]


def load_source(
    con: duckdb.DuckDBPyConnection,
    files: list[tuple[SourceSpec, Path | None]],
    run_id: str,
    rules: RowRules = RowRules(),
) -> list[LoadResult]:
    """Load a source's exports (source_files) in turn, a later part's key replacing an
    earlier one's: one LoadResult per export."""
    return [
        load_export(con, part, path, run_id, rules, append=i > 0)
        for i, (part, path) in enumerate(files)
    ]


def load_export(
    con: duckdb.DuckDBPyConnection,
    spec: SourceSpec,
    path: Path | None,
    run_id: str,
    rules: RowRules = RowRules(),
    append: bool = False,
) -> LoadResult:
    """Load `path` into raw.<source>. The file is parsed into session-local scratch
    tables first; everything the warehouse keeps (table, rejects, load report) is then
    written in one transaction, so a failure or a killed process leaves them as the
    previous load left them. A missing optional file leaves an empty table (or, for an
    incremental source, its history). `append`: a later part of a source with several
    exports, merged by key into what the earlier parts loaded."""
    ensure_meta_tables(con)
    scratch = Path(tempfile.mkdtemp(prefix="segments-load-"))
    text: TextFile | None = None
    timings: dict[str, float] = {}
    # The file's hash (for the load report) is read beside the load: hashlib lets go
    # of the GIL, so it costs no time of its own (11 s for a 6 GB file when it did).
    hashing = ThreadPoolExecutor(max_workers=1, thread_name_prefix="sha256")
    sha256 = hashing.submit(file_sha256, path) if path is not None else None
    try:
        mapped: dict[str, str] | None = None
        checks: list[Check] = []
        if path is not None:
            if path.stat().st_size == 0:
                raise ContractError(
                    f"{path.name}: the file is empty; expected a header row with "
                    f"at least {', '.join(spec.required_columns)}"
                )
            if path.suffix.lower() != ".parquet":
                with _phase(timings, "read"):  # encoding, delimiter, header
                    text = prepare_text(path, spec, scratch)
                header = list(text.header)
            else:
                header = _parquet_header(con, path)[1]
            mapped = check_contract(path, spec, header)
            checks = source_checks(spec, mapped) + [
                check
                for c in spec.columns
                if c.name in mapped
                for check in column_checks(c, spec, rules)
            ]
            # Outside the transaction: rowids of rows inserted inside one are not 0-based,
            # and the line numbers are derived from them.
            with _phase(timings, "type"):
                _typing_pass(con, spec, path, text, mapped, header, checks, scratch)
        # From here on rows carry their line in _source_line, so their order is free:
        # writing without keeping it is faster.
        con.execute("set preserve_insertion_order = false")
        con.begin()
        try:
            if not append:
                con.execute(f"delete from {LOAD_REPORT_TABLE} where source = ?", [spec.name])
            if path is None or mapped is None:
                result = _record_absent(con, spec, run_id, append)
            else:
                assert sha256 is not None
                result = _load_in_transaction(
                    con, spec, path, mapped, header, checks, run_id, sha256, append, timings
                )
            with _phase(timings, "commit"):
                con.commit()
        except BaseException:
            con.rollback()
            raise
    finally:
        hashing.shutdown(cancel_futures=True)
        con.execute("reset preserve_insertion_order")
        _drop_scratch(con)
        shutil.rmtree(scratch, ignore_errors=True)
    result.timings = timings
    if text is not None:
        result.encoding, result.delimiter = text.encoding, text.delimiter
        result.warnings[:0] = [f"{path.name}: {w}" for w in text.warnings]
    return result


def _create_target(con, spec: SourceSpec) -> str:
    target = f"{RAW_SCHEMA}.{spec.name}"
    typed_columns = ", ".join(f"{_quote_ident(c.name)} {c.sql_type}" for c in spec.columns)
    con.execute(
        f"create table if not exists {target} ({typed_columns}, "
        "_source_file varchar, _source_line bigint)"
    )
    # Tables made before a column widened (rates at 18 decimals) or was added follow it.
    existing = dict(
        con.execute(
            "select column_name, data_type from information_schema.columns "
            "where table_schema = ? and table_name = ?",
            [RAW_SCHEMA, spec.name],
        ).fetchall()
    )
    for c in spec.columns:
        if c.name not in existing:
            con.execute(f"alter table {target} add column {_quote_ident(c.name)} {c.sql_type}")
        elif existing[c.name].replace(" ", "") != c.sql_type.replace(" ", ""):
            con.execute(f"alter table {target} alter {_quote_ident(c.name)} type {c.sql_type}")
    return target


def tracks_changes(spec: SourceSpec) -> bool:
    """An incremental source with a key keeps a change log (changes_table)."""
    return spec.incremental and bool(spec.primary_key)


def changes_table(spec: SourceSpec) -> str:
    """raw.<source>_changes: the rows of an incremental source that loads changed and the
    dbt build has not yet consumed (docs/scale.md, incremental nights). A changed key has
    two rows, its stored version ('old', when it had one) and the new one ('new'); a
    load that made the table whole (the first, or a table made before the log existed)
    writes one 'reset' row, which makes the next dbt build a full one."""
    return f"{RAW_SCHEMA}.{spec.name}_changes"


def _ensure_changes(con, spec: SourceSpec, run_id: str) -> bool:
    """Make the change log when it is missing or its columns are not the contract's,
    with a 'reset' row: what was stored before it is not logged. True when made."""
    table = changes_table(spec)
    wanted = ["change", "run_id", "changed_at", *(c.name for c in spec.columns)]
    found = [
        r[0]
        for r in con.execute(
            "select column_name from information_schema.columns where table_schema = ? "
            "and table_name = ? order by ordinal_position",
            [RAW_SCHEMA, table.split(".")[1]],
        ).fetchall()
    ]
    if found == wanted:
        return False
    typed_columns = ", ".join(f"{_quote_ident(c.name)} {c.sql_type}" for c in spec.columns)
    con.execute(
        f"create or replace table {table} (change varchar, run_id varchar, "
        f"changed_at timestamp, {typed_columns})"
    )
    _log_reset(con, spec, run_id)
    return True


def _log_reset(con, spec: SourceSpec, run_id: str) -> None:
    con.execute(
        f"insert into {changes_table(spec)} (change, run_id, changed_at) "
        "values ('reset', ?, now()::timestamp)",
        [run_id],
    )


def _log_changes(con, spec: SourceSpec, run_id: str, target: str) -> None:
    """_changed (tonight's new or changed rows, contract columns) into the change log,
    with the stored versions of their keys."""
    pk = ", ".join(_quote_ident(k) for k in spec.primary_key)
    columns = ", ".join(_quote_ident(c.name) for c in spec.columns)
    con.execute(
        f"""insert into {changes_table(spec)} by name
            select 'old' as change, ? as run_id, now()::timestamp as changed_at, {columns}
            from {target} semi join _changed using ({pk})
            union all
            select 'new', ?, now()::timestamp, {columns} from _changed""",
        [run_id, run_id],
    )


def _record_absent(con, spec: SourceSpec, run_id: str, append: bool = False) -> LoadResult:
    target = _create_target(con, spec)
    if tracks_changes(spec):
        _ensure_changes(con, spec, run_id)
    if not spec.incremental and not append:
        con.execute(f"delete from {target}")
    rows = fetch_one(con, f"select count(*) from {target}")[0]
    names = ", ".join([*spec.file_patterns, f"{spec.name}.csv"])
    if append:
        kept = f"nothing added to {spec.name} from it"
    elif spec.incremental:
        kept = f"kept the {rows:,} stored rows"
    else:
        kept = "loaded as an empty table"
    note = f"absent: no {names} (or .csv.gz, .parquet, .xlsx) in the landing folder; {kept}"
    result = LoadResult(
        spec.name, None, None, 0, 0, 0, rows, note=note, warnings=[note], part=spec.part
    )
    _record_report(con, result, run_id)
    return result


def _typing_pass(
    con,
    spec: SourceSpec,
    path: Path,
    text: TextFile | None,
    mapped: dict[str, str],
    header: list[str],
    checks: list[Check],
    scratch: Path,
) -> None:
    """_typed: one row per record of the file with every contract column typed, the
    presence flags, the row flags, the profile filter that skipped it (if any), whether
    any check flags it, its line (_source_line) and rowid (_row). The raw text of a row
    (_raws: the first header field's, then each mapped contract column's) is kept only
    where a check flags it, for the reject to show, and _unmapped_<column> holds a value
    a profile's map fell back on.

    One pass from the file to typed rows: reading into a text table first and typing
    that cost a second copy of every value (108 s of 96M lines' 276 s at 1M clients).
    The reader types the plain dates and numbers itself (typed_by_reader); the records
    it refused for such a value are typed from their text afterwards (_retype_refused).
    Only a profile that reads `_line` needs the lines numbered before typing, and is
    typed from text throughout. The raw texts are one list column: as a column each,
    even NULL, they made the table spill (49 s against 20 s for 9.6M lines with 600 MB
    of memory)."""
    line = []
    read_types: dict[str, str] = {}
    if _reads_line(spec, mapped, header):
        source = _source_relation(con, path, spec, text, {})
        con.execute(f"create temp table _scan_rows as select * from {source}")
        _collect_structural(con, text)
        _number_lines(con, "_scan_rows", "_scan", LINE_COLUMN)
        source, line = "_scan", [f"{LINE_COLUMN} as _source_line"]
        con.execute("set preserve_insertion_order = false")  # the lines are in _line
    else:
        read_types = typed_by_reader(con, spec, text, mapped, header, checks)
        source = _source_relation(con, path, spec, text, read_types)
    typed_select = partial(_typed_select, spec, path, mapped, header, checks)
    retyped_line = ["null::bigint as _retyped_line"] if read_types else []
    selected = typed_select(source, read_types, line + retyped_line)
    con.execute(f"create temp table _typed_rows as {selected}")
    if line:
        con.execute("create temp view _typed as select rowid as _row, * from _typed_rows")
        return
    _collect_structural(con, text)
    if read_types:
        assert text is not None  # only a CSV is typed by its reader
        _retype_refused(con, spec, text, scratch, partial(typed_select, read_types={}))
    _number_lines(con, "_typed_rows", "_typed", "_source_line")


def _typed_select(
    spec: SourceSpec,
    path: Path,
    mapped: dict[str, str],
    header: list[str],
    checks: list[Check],
    source: str,
    read_types: dict[str, str],
    extra: list[str],
) -> str:
    """The typing pass's query over `source`: the file's fields, VARCHAR but those in
    read_types, which arrive typed and are only given their contract type."""
    typed_fields = {_quote_ident(h) for h in read_types}
    selected = [*_row_flags(header, typed_fields)]
    for c in spec.columns:
        name = _quote_ident(c.name)
        if c.name not in mapped:
            selected.append(f"null::{c.sql_type} as {name}")
            selected.append(f"false as {_has(c.name)}")
            continue
        if mapped[c.name] in typed_fields:
            selected.append(f"{mapped[c.name]}::{c.sql_type} as {name}")
            selected.append(f"{mapped[c.name]} is not null as {_has(c.name)}")
            continue
        value = _clean(c, mapped[c.name])
        selected.append(f"{_typed_expr(c, value, spec)} as {name}")
        selected.append(f"{value} is not null as {_has(c.name)}")
    # A typed field's text is not kept (casting every row's dates and numbers back to
    # text cost 7%): no check shows it (typed_by_reader), its own typing cannot fail.
    raws = [
        "null::varchar" if raw in typed_fields else raw
        for raw in [_quote_ident(header[0]), *mapped.values()]
    ]
    selected += [
        f"{_unmapped_expr(c, mapped[c.name])} as {_unmapped(c.name)}"
        for c in spec.columns
        if c.fallback is not None and c.name in mapped
    ]
    filtered = "null::varchar"
    filters = applicable_filters(spec, header)
    if filters:
        cases = " ".join(
            f"when coalesce({f.where}, false) then {_sql_literal(f.reason)}" for f in filters
        )
        filtered = f"(case {cases} end)"
    flagged = " or ".join(f"({c.condition})" for c in checks)
    return f"""select * exclude (_raws), case when _is_bad then _raws end as _raws
            from (select *, _filtered_by is null and coalesce({flagged}, false) as _is_bad
                  from (select {", ".join([*selected, *extra])}, {filtered} as _filtered_by,
                               {_sql_literal(path.name)} as _source_file,
                               [{", ".join(raws)}]::varchar[] as _raws
                        from {source}))"""


def _retype_refused(
    con, spec: SourceSpec, text: TextFile, scratch: Path, typed_select: Callable[..., str]
) -> None:
    """The records the reader refused only for the value of a field it typed (a number
    formatted "1 234,50", a date in a profile's format, a defect): written to a scratch
    file with their line in front, read again as text and typed like any text (the
    checks word what is still wrong), then appended to _typed_rows, which numbers them
    by that line (_retyped)."""
    con.execute(
        "create temp table _retyped as select line, any_value(csv_line) as csv_line "
        f"from _reject_errors where line in ({REFUSED_FOR_A_VALUE}) group by line"
    )
    if not fetch_one(con, "select count(*) from _retyped")[0]:
        return
    retyped = scratch / "retyped.csv"
    with retyped.open("w", encoding="utf-8", newline="") as out:
        out.write(text.delimiter.join(["_retyped_line", *(["h"] * len(text.header))]) + "\n")
        refused = con.execute("select line, csv_line from _retyped order by line")
        while batch := refused.fetchmany(10_000):
            out.writelines(f"{line}{text.delimiter}{record}\n" for line, record in batch)
    columns = {"_retyped_line": "BIGINT", **{h: "VARCHAR" for h in text.header}}
    source = _read_csv(replace(text, path=retyped), spec, columns, ignore_errors=False)
    con.execute(f"insert into _typed_rows by name {typed_select(source, extra=['_retyped_line'])}")


def _word_rejects(con, mapped: dict[str, str], checks: list[Check]) -> None:
    """_errors: one record per (flagged row, failed check), with the raw value. A row
    that is not data at all (a repeated header, a total) is rejected for that alone."""
    names = ["_raw_first", *(_raw(column) for column in mapped)]
    raws = ", ".join(f"_raws[{i}] as {name}" for i, name in enumerate(names, 1))
    con.execute(
        f"create temp table _bad as select * exclude (_raws), {raws} from _typed where _is_bad"
    )
    con.execute(
        "create temp table _errors as "
        + " union all ".join(
            [
                f"select _source_line as _line, {_sql_literal(c.column)} as column_name, "
                f"{c.value}::varchar as value, {_sql_literal(c.reason)} as reason "
                f"from _bad where {c.condition}"
                + ("" if c.name in ROW_CHECKS else " and not (_repeated_header or _total_row)")
                for c in checks
            ]
            + ["select null::bigint, null::varchar, null::varchar, null::varchar where false"]
        )
    )


def _filter_repeats(con, spec: SourceSpec) -> None:
    """A `distinct` source (accounts taken from a deal export) keeps one row per
    distinct content; the repeats are filtered, naming the line they repeat."""
    columns = ", ".join(_quote_ident(c.name) for c in spec.columns)
    con.execute(
        f"""update _typed_rows set _filtered_by = 'repeats line ' || d.first_line
            from (select _row, _source_line,
                         min(_source_line) over (partition by {columns}) as first_line
                  from _typed where not _is_bad and _filtered_by is null) d
            where _typed_rows.rowid = d._row and d.first_line <> d._source_line"""
    )


def _reject_superseded_keys(con, spec: SourceSpec) -> None:
    """Duplicate primary keys: the last row of the file wins; the others are reported.
    Grouping first keeps the per-row work to the keys that are in fact duplicated."""
    pk = ", ".join(_quote_ident(k) for k in spec.primary_key)
    pk_values = ", ".join(f"t.{_quote_ident(k)}" for k in spec.primary_key)
    con.execute(
        f"""insert into _errors
            select t._source_line, {_sql_literal(", ".join(spec.primary_key))},
                   concat_ws('|', {pk_values}),
                   'duplicate key: superseded by line ' || d.winner
            from _typed as t
            join (select {pk}, max(_source_line) as winner from _typed
                  where not _is_bad and _filtered_by is null group by all
                  having count(*) > 1) as d using ({pk})
            where not t._is_bad and t._filtered_by is null and t._source_line <> d.winner"""
    )


def _value_counts(con, column_sql: str, where: str) -> dict[str, int]:
    return dict(
        con.execute(
            f"select {column_sql}::varchar, count(*) from _typed where {where} "
            "group by 1 order by 2 desc, 1"
        ).fetchall()
    )


def _load_in_transaction(
    con: duckdb.DuckDBPyConnection,
    spec: SourceSpec,
    path: Path,
    mapped: dict[str, str],
    header: list[str],
    checks: list[Check],
    run_id: str,
    sha256: Future[str],
    append: bool = False,
    timings: dict[str, float] | None = None,
) -> LoadResult:
    timings = {} if timings is None else timings
    target = _create_target(con, spec)
    with _phase(timings, "check"):
        _word_rejects(con, mapped, checks)
        if spec.distinct:
            _filter_repeats(con, spec)
        if spec.primary_key:
            _reject_superseded_keys(con, spec)

    columns = ", ".join(
        [*(_quote_ident(c.name) for c in spec.columns), "_source_file", "_source_line"]
    )
    # Rows are filtered before they reach the warehouse file: deleting from rows written
    # in the same transaction makes DuckDB rewrite them at commit (3 s at 7M rows).
    loaded = (
        f"(select {columns} from _typed where not _is_bad and _filtered_by is null "
        "and _source_line not in (select _line from _errors))"
    )
    with _phase(timings, "write"):
        rows_loaded = fetch_one(con, f"select count(*) from {loaded}")[0]
        _write(con, spec, target, loaded, rows_loaded, append, run_id)

    rows_read = fetch_one(
        con,
        "select (select count(*) from _typed_rows) "
        "+ (select count(distinct line) from _structural)",
    )[0]
    con.execute(
        f"""insert into {REJECTS_TABLE}
            select ?, ?, ?, _line, column_name, value, reason, now()::timestamp from _errors
            union all
            select ?, ?, ?, line, column_name, value, reason, now()::timestamp from _structural""",
        [run_id, spec.name, path.name] * 2,
    )
    (rows_rejected,) = fetch_one(
        con,
        "select count(distinct _line) from (select _line from _errors "
        "union select line from _structural)",
    )
    filter_reasons = _value_counts(con, "_filtered_by", "_filtered_by is not null")
    rows_filtered = sum(filter_reasons.values())
    if rows_read != rows_loaded + rows_filtered + rows_rejected:
        raise RuntimeError(
            f"{path.name}: rows read ({rows_read}) != loaded ({rows_loaded}) + filtered "
            f"({rows_filtered}) + rejected ({rows_rejected}); this is a bug in the loader, "
            "nothing was loaded"
        )
    reasons = dict(
        con.execute(
            "select reason, count(*) from (select reason from _errors union all "
            "select reason from _structural) group by reason order by 2 desc"
        ).fetchall()
    )
    good = "not _is_bad and _filtered_by is null"
    unexpected, unmapped = {}, {}
    for c in spec.columns:
        if c.name not in mapped:
            continue
        name = _quote_ident(c.name)
        if c.expected:
            found = _value_counts(
                con, name, f"{good} and {name} is not null and {name}::varchar not in "
                f"({_listed(c.expected)})"
            )  # fmt: skip
            if found:
                unexpected[c.name] = found
        if c.fallback is not None:
            unmapped_col = _value_counts(
                con, _unmapped(c.name), f"{good} and {_unmapped(c.name)} is not null"
            )
            if unmapped_col:
                unmapped[c.name] = unmapped_col
    warnings = [
        f"{spec.name}.{column}: values outside the expected list, loaded as they are "
        f"(typos?): " + ", ".join(f"{v!r} ({n})" for v, n in list(values.items())[:10])
        for column, values in unexpected.items()
    ] + [
        f"{spec.name}.{column}: values the profile {spec.profile} does not map, loaded as "
        f"{spec.column(column).fallback!r} (map them under values.{column}): "
        + ", ".join(f"{v!r} ({n})" for v, n in list(values.items())[:10])
        for column, values in unmapped.items()
    ]
    if rows_read == 0:
        warnings.append(f"{spec.name}: {path.name} holds a header and no rows")
    for rule in spec.skip:
        if absent := _filter_columns_absent(rule, header):
            warnings.append(
                f"{spec.name}: filter {rule.reason!r} of profile {spec.profile} not applied: "
                f"{path.name} has no column {', '.join(absent)}"
            )
    with _phase(timings, "hash"):  # what is left of it: waiting for the thread
        digest = sha256.result()
    result = LoadResult(
        source=spec.name,
        file_name=path.name,
        sha256=digest,
        rows_read=rows_read,
        rows_loaded=rows_loaded,
        rows_rejected=rows_rejected,
        rows_in_table=fetch_one(con, f"select count(*) from {target}")[0],
        rows_filtered=rows_filtered,
        extra_columns=_unused_columns(spec, header, mapped),
        missing_optional_columns=[c.name for c in spec.columns if c.name not in mapped],
        reject_reasons=reasons,
        filter_reasons=filter_reasons,
        unexpected_values=unexpected,
        unmapped_values=unmapped,
        warnings=warnings,
        note="; ".join(f"filtered {n:,}: {r}" for r, n in filter_reasons.items()),
        part=spec.part,
    )
    _record_report(con, result, run_id)
    return result


def _write(
    con,
    spec: SourceSpec,
    target: str,
    loaded: str,
    rows_loaded: int,
    append: bool,
    run_id: str,
) -> None:
    """Write the night's rows. Incremental sources keep their history: a re-sent key
    replaces the stored row, and what changed goes to their change log (changes_table).
    A delta (a few rows against a large table) is merged in place; a file re-sending
    most of what is stored (a full re-export) rebuilds the table from the stored rows
    it does not re-send plus its own, one write instead of deleting and re-inserting
    nearly every row through a scratch copy."""
    rows_stored = fetch_one(con, f"select count(*) from {target}")[0]
    log_made = tracks_changes(spec) and _ensure_changes(con, spec, run_id)
    if not ((spec.incremental or append) and spec.primary_key and rows_stored):
        if append:
            con.execute(f"insert into {target} by name select * from {loaded}")
        else:
            con.execute(f"create or replace table {target} as select * from {loaded}")
        if tracks_changes(spec) and not log_made:
            _log_reset(con, spec, run_id)
        return
    pk = ", ".join(_quote_ident(k) for k in spec.primary_key)
    contract_columns = ", ".join(_quote_ident(c.name) for c in spec.columns)
    columns = f"{contract_columns}, _source_file, _source_line"
    if rows_loaded * 2 < rows_stored:
        con.execute(f"create temp table _loaded as select * from {loaded}")
        stored = f"(select * from {target} semi join _loaded using ({pk}))"
        tonight = "_loaded"
    else:
        stored, tonight = target, loaded
    if tracks_changes(spec):
        # New keys and changed rows; a re-sent row equal to the stored one is no change.
        con.execute(
            f"""create temp table _changed as
                select {contract_columns} from {tonight}
                except select {contract_columns} from {stored}"""
        )
        _log_changes(con, spec, run_id, target)
    if tonight == "_loaded":
        con.execute(f"delete from {target} where ({pk}) in (select ({pk}) from _loaded)")
        con.execute(f"insert into {target} by name select * from _loaded")
    else:
        con.execute(
            f"""create or replace table {target} as
                select {columns} from {target} anti join {loaded} as n using ({pk})
                union all select {columns} from {loaded}"""
        )


def _unused_columns(spec: SourceSpec, header: list[str], mapped: dict[str, str]) -> list[str]:
    """Header columns that feed no contract column and no filter: ignored, and said so."""
    used = {sql.lower() for sql in mapped.values()}
    for c in spec.columns:
        if c.expression and c.name in mapped:
            used |= {_quote_ident(n).lower() for n in validate_expression(c.expression)}
    for rule in applicable_filters(spec, header):
        used |= {_quote_ident(n).lower() for n in validate_expression(rule.where)}
    return [h for h in header if _quote_ident(h).lower() not in used]


def _unmapped_expr(col: ColumnSpec, raw_sql: str) -> str:
    """The raw value when it falls through a profile's map onto its fallback."""
    known = [k for k, _ in col.value_map] + [str(v) for v in col.values]
    value = f"trim({raw_sql})"
    return (
        f"(case when nullif({value}, '') is not null and {value} not in ({_listed(known)}) "
        f"and {value} not in ({_listed(col.null_if)}) then {value} end)"
    )


def _drop_scratch(con: duckdb.DuckDBPyConnection) -> None:
    for view in ("_scan", "_typed"):
        con.execute(f"drop view if exists {view}")
    for temp in (
        "_scan_rows",
        "_typed_rows",
        "_gaps",
        "_skipped",
        "_retyped",
        "_structural",
        "_errors",
        "_bad",
        "_loaded",
        "_changed",
        "_reject_errors",
        "_reject_scans",
    ):
        con.execute(f"drop table if exists {temp}")


def _record_report(con, result: LoadResult, run_id: str) -> None:
    con.execute(
        f"""insert or replace into {LOAD_REPORT_TABLE}
            (source, part, file_name, sha256, rows_read, rows_loaded, rows_rejected,
             rows_in_table, run_id, loaded_at, rows_filtered, note)
            values (?, ?, ?, ?, ?, ?, ?, ?, ?, now()::timestamp, ?, ?)""",
        [
            result.source,
            result.part,
            result.file_name,
            result.sha256,
            result.rows_read,
            result.rows_loaded,
            result.rows_rejected,
            result.rows_in_table,
            run_id,
            result.rows_filtered,
            result.note,
        ],
    )
