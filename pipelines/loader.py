"""Load one export file into a typed warehouse table, sending every bad row to the rejects.

DuckDB's CSV reader parses (explicit delimiter, quote and one VARCHAR column per header
field: nothing is sniffed per file); typing is done in SQL so that every value that
does not fit is reported with its line, column and what was expected instead of being
dropped. Line numbers count records the way DuckDB's own rejects do: the header is
line 1, the first data record line 2.

Invariant, checked on every load: rows_read == rows_loaded + rows_rejected.
"""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import hashlib
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from pipelines.contract import SQL_TYPES, ColumnSpec, SourceSpec
from pipelines.db import fetch_one

RAW_SCHEMA = "raw"
REJECTS_TABLE = f"{RAW_SCHEMA}.rejects"
LOAD_REPORT_TABLE = f"{RAW_SCHEMA}.load_report"


class ContractError(Exception):
    """A file that cannot be loaded at all (missing column, unreadable): refused whole."""


@dataclass
class LoadResult:
    source: str
    file_name: str | None
    sha256: str | None
    rows_read: int
    rows_loaded: int
    rows_rejected: int
    rows_in_table: int
    extra_columns: list[str] = field(default_factory=list)
    missing_optional_columns: list[str] = field(default_factory=list)
    reject_reasons: dict[str, int] = field(default_factory=dict)
    encoding: str | None = None
    delimiter: str | None = None
    # Values outside a column's expected list (loaded, but likely typos): column -> {value: rows}
    unexpected_values: dict[str, dict[str, int]] = field(default_factory=dict)


def find_export(exports_dir: Path, source: str, file_name: str | None = None) -> Path | None:
    """The export file of a source: `<source>.csv` or `<source>.parquet` (or the name a
    profile gives it), a regular file whose real path stays inside the landing folder
    (no symlink escapes)."""
    root = exports_dir.resolve()
    names = [file_name] if file_name else [f"{source}{s}" for s in (".csv", ".parquet")]
    for name in names:
        candidate = exports_dir / Path(name).name
        if candidate.is_file():
            resolved = candidate.resolve()
            if not resolved.is_relative_to(root):
                raise ContractError(
                    f"{candidate}: resolves to {resolved}, outside the landing folder {root}"
                )
            return candidate
    return None


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
    con.execute(
        f"""create table if not exists {LOAD_REPORT_TABLE} (
            source varchar primary key, file_name varchar, sha256 varchar,
            rows_read bigint, rows_loaded bigint, rows_rejected bigint,
            rows_in_table bigint, run_id varchar, loaded_at timestamp)"""
    )


def _quote_ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _sql_literal(value: object) -> str:
    return "'" + str(value).replace("'", "''") + "'"


DELIMITERS = (",", ";", "\t", "|")
_CHUNK = 1 << 22


@dataclass(frozen=True)
class TextFile:
    """A CSV export as DuckDB will read it: UTF-8 text (the original file, or a
    transcoded copy) with the encoding and delimiter it was found to have."""

    path: Path
    encoding: str
    delimiter: str


def _is_utf8(path: Path) -> bool:
    decoder = codecs.getincrementaldecoder("utf-8")()
    with path.open("rb") as handle:
        try:
            for chunk in iter(lambda: handle.read(_CHUNK), b""):
                decoder.decode(chunk)
            decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            return False
    return True


def _transcode(path: Path, encoding: str, scratch: Path) -> Path:
    """A UTF-8 copy of `path` (FACTS: DuckDB's own cp1251 support is a download)."""
    copy = scratch / f"{path.stem}.utf-8{path.suffix}"
    with (
        path.open("r", encoding=encoding, newline="") as source,
        copy.open("w", encoding="utf-8", newline="") as target,
    ):
        shutil.copyfileobj(source, target, _CHUNK)
    return copy


def prepare_text(path: Path, spec: SourceSpec, scratch: Path) -> TextFile:
    """Refuse what is not text; settle the encoding (UTF-8, UTF-8 with BOM, cp1251, or
    the one the source pins) and the delimiter (from the header line, or pinned)."""
    with path.open("rb") as handle:
        head = handle.read(1 << 16)
    if b"\x00" in head:
        raise ContractError(
            f"{path.name}: not a text file (NUL bytes in the first {len(head):,} bytes); "
            "expected a CSV export"
        )
    encoding = spec.csv.encoding.lower()
    if encoding == "auto":
        encoding = "utf-8" if _is_utf8(path) else "cp1251"
    if encoding in ("utf-8", "utf8", "utf-8-sig"):
        readable = path
        if not _is_utf8(path):
            raise ContractError(
                f"{path.name}: not UTF-8 text although the contract pins it; expected "
                "UTF-8 (or set csv.encoding for this source)"
            )
    else:
        try:
            readable = _transcode(path, encoding, scratch)
        except (UnicodeDecodeError, LookupError) as exc:
            raise ContractError(f"{path.name}: cannot be read as {encoding} text ({exc})") from exc
    with readable.open("r", encoding="utf-8-sig", newline="") as handle:
        first_line = handle.readline().rstrip("\r\n")
    delimiter = spec.csv.delimiter
    if delimiter == "auto":
        widths = {
            d: len(next(csv.reader([first_line], delimiter=d, quotechar=spec.csv.quote), []))
            for d in DELIMITERS
        }
        delimiter = max(DELIMITERS, key=lambda d: (widths[d], -DELIMITERS.index(d)))
    return TextFile(readable, "utf-8" if encoding == "utf8" else encoding, delimiter)


def read_header(
    con: duckdb.DuckDBPyConnection, path: Path, spec: SourceSpec, text: TextFile | None = None
) -> list[str]:
    if path.stat().st_size == 0:
        raise ContractError(
            f"{path.name}: the file is empty; expected a header row with "
            f"at least {', '.join(spec.required_columns)}"
        )
    if path.suffix == ".parquet":
        return [
            d[0]
            for d in con.execute("select * from read_parquet(?) limit 0", [str(path)]).description
        ]
    # The header is read here, not sniffed: DuckDB's sniffer gives up on a file whose
    # later records are ragged, and those records must become rejects, not a refusal.
    assert text is not None
    with text.path.open("r", encoding="utf-8-sig", newline="") as handle:
        first_line = handle.readline().rstrip("\r\n")
    return next(csv.reader([first_line], delimiter=text.delimiter, quotechar=spec.csv.quote))


def map_header(spec: SourceSpec, header: list[str]) -> dict[str, str]:
    """Contract column -> the header field it arrives under (its name or an alias)."""
    fields = {h.strip().lower(): h for h in header}
    mapping = {}
    for col in spec.columns:
        for name in (col.source_column,) if col.source_column else (col.name, *col.aliases):
            if name.strip().lower() in fields:
                mapping[col.name] = fields[name.strip().lower()]
                break
    return mapping


def check_contract(path: Path, spec: SourceSpec, header: list[str]) -> None:
    mapped = map_header(spec, header)
    missing = [
        c.name + (f" (or {', '.join(c.aliases)})" if c.aliases else "")
        for c in spec.columns
        if c.required and c.name not in mapped
    ]
    if missing:
        raise ContractError(
            f"{path.name}: missing required column(s) {', '.join(missing)}; "
            f"columns found: {', '.join(header) or '(none)'}; "
            f"the {spec.name} contract requires: {', '.join(spec.required_columns)}"
        )


def _scan_into_temp(
    con, path: Path, spec: SourceSpec, header: list[str], text: TextFile | None
) -> None:
    """_scan: one VARCHAR column per header field plus _line; _structural: bad records.

    _scan is a view over the parsed rows so the 10M-line case is not copied once more."""
    con.execute("drop table if exists _scan_rows")
    con.execute("drop table if exists _structural")
    if path.suffix == ".parquet":
        con.execute(
            "create temp table _scan_rows as select columns(*)::varchar from read_parquet(?)",
            [str(path)],
        )
        con.execute(
            "create temp table _structural (line bigint, column_name varchar, "
            "value varchar, reason varchar)"
        )
    else:
        columns = "{" + ", ".join(f"{_sql_literal(h)}: 'VARCHAR'" for h in header) + "}"
        con.execute("drop table if exists _reject_errors")
        con.execute("drop table if exists _reject_scans")
        con.execute(
            f"""create temp table _scan_rows as select * from read_csv(
                    ?, header=true, auto_detect=false, delim=?, quote=?, escape=?,
                    columns={columns}, strict_mode=true, store_rejects=true,
                    rejects_table='_reject_errors', rejects_scan='_reject_scans')""",
            [str(text.path), text.delimiter, spec.csv.quote, spec.csv.quote],
        )
        con.execute(
            """create temp table _structural as
               select line, coalesce(column_name, '') as column_name, csv_line as value,
                      lower(error_type) || ': ' || error_message as reason
               from _reject_errors"""
        )
    # Records are stored in file order (insertion order is preserved), so rowid k is
    # the (k+1)-th good record; its line skips over the structurally rejected lines.
    gaps = con.execute(
        """select line - 1 - row_number() over (order by line) as good_before
           from (select distinct line from _structural)"""
    ).fetchall()
    con.execute("drop view if exists _scan")
    con.execute("drop table if exists _scan_numbered")
    if gaps:
        con.execute(
            """create temp table _gaps as select line - 1 - row_number() over (order by line)
               as good_before from (select distinct line from _structural)"""
        )
        con.execute(
            """create temp table _scan_numbered as select rowid + 2 + (select count(*)
               from _gaps g where g.good_before <= s.rowid) as _line, s.* from _scan_rows s"""
        )
        con.execute("drop table _gaps")
        con.execute("drop table _scan_rows")
        con.execute("create temp view _scan as select * from _scan_numbered")
    else:
        con.execute("create temp view _scan as select rowid + 2 as _line, * from _scan_rows")


NUMERIC_TYPES = ("integer", "decimal", "rate", "double")


def _formats(formats: tuple[str, ...]) -> str:
    return "[" + ", ".join(_sql_literal(f) for f in formats) + "]"


def _number_text(value: str) -> str:
    """Numbers as exported by Russian and English tools, made castable: spaces and
    (narrow) no-break spaces as thousands separators go; `1 234,56` and `1.234,56`
    (decimal comma) become 1234.56; `1,234.56` (comma thousands) becomes 1234.56.
    A lone comma between digits is a decimal comma. The cheap `contains` tests keep
    the regular expressions off the plain values that make up almost every file."""
    has_space = (
        f"(contains({value}, ' ') or contains({value}, chr(160)) or contains({value}, chr(8239)))"
    )
    packed = (
        f"case when {has_space} "
        f"then regexp_replace({value}, '[ \u00a0\u202f]', '', 'g') else {value} end"
    )
    return (
        f"(case when not contains({packed}, ',') then {packed} "
        f"when regexp_full_match({packed}, '[+-]?[0-9]{{1,3}}(,[0-9]{{3}})+[.][0-9]+') "
        f"then replace({packed}, ',', '') "
        f"else replace(replace({packed}, '.', ''), ',', '.') end)"
    )


def _translated(col: ColumnSpec, raw: str) -> str:
    """The raw value with a profile's value translations applied (e.g. Won -> won)."""
    if not col.value_map:
        return raw
    cases = " ".join(f"when {_sql_literal(k)} then {_sql_literal(v)}" for k, v in col.value_map)
    return f"(case trim({raw}) {cases} else {raw} end)"


def _typed_expr(col: ColumnSpec, raw: str, spec: SourceSpec) -> str:
    value = f"nullif(trim({_translated(col, raw)}), '')"
    # A plain cast first: it takes the ISO values that make up most files at a fraction
    # of the cost of the format list, which only sees what the cast did not take.
    if col.type == "date":
        return (
            f"coalesce(try_cast({value} as date), "
            f"try_strptime({value}, {_formats(spec.csv.date_formats)})::date)"
        )
    if col.type == "timestamp":
        return (
            f"coalesce(try_cast({value} as timestamp), "
            f"try_strptime({value}, {_formats(spec.csv.timestamp_formats)}))"
        )
    if col.type == "boolean":
        return f"try_cast(lower({value}) as boolean)"
    if col.type in NUMERIC_TYPES:
        return (
            f"coalesce(try_cast({value} as {col.sql_type}), "
            f"try_cast({_number_text(value)} as {col.sql_type}))"
        )
    return f"try_cast({value} as {col.sql_type})"


@dataclass(frozen=True)
class RowRules:
    """What a row is checked against beyond its own file: the values other sources
    know (e.g. currencies with a rate) and the run's explicit as_of."""

    known_values: dict[str, tuple[str, ...]] = field(default_factory=dict)
    as_of: dt.date | None = None


def _known_condition(col: ColumnSpec, typed: str, rules: RowRules) -> tuple[str, str] | None:
    if not col.known_in or col.name not in rules.known_values:
        return None
    known = rules.known_values[col.name]
    listed = ", ".join(_sql_literal(v) for v in known) or "''"
    return (
        f"{typed} is not null and upper({typed}) not in ({listed})",
        f"unknown {col.name}: not in {col.known_in} ({', '.join(known)})",
    )


def _after_as_of_condition(col: ColumnSpec, typed: str, rules: RowRules) -> tuple[str, str] | None:
    if not col.not_after_as_of or rules.as_of is None:
        return None
    return (
        f"{typed} > date '{rules.as_of.isoformat()}'",
        f"{col.name} is after the run's as_of {rules.as_of.isoformat()}",
    )


def _error_checks(
    col: ColumnSpec, raw: str, spec: SourceSpec, rules: RowRules = RowRules()
) -> list[tuple[str, str]]:
    """(condition, reason) pairs that reject a row for this column."""
    value = f"nullif(trim({_translated(col, raw)}), '')"
    typed = _typed_expr(col, raw, spec)
    expected = SQL_TYPES[col.type][1]
    if col.type == "date":
        expected += f" in one of the formats {', '.join(spec.csv.date_formats)}"
    elif col.type == "timestamp":
        expected += f" in one of the formats {', '.join(spec.csv.timestamp_formats)}"
    checks = []
    if col.key:
        checks.append((f"{value} is null", f"missing value: {col.name} is required"))
    if col.type != "varchar":
        checks.append((f"{value} is not null and {typed} is null", f"expected {expected}"))
    if col.values:
        listed = ", ".join(_sql_literal(v) for v in col.values)
        checks.append(
            (
                f"{typed} is not null and {typed}::varchar not in ({listed})",
                f"expected one of: {', '.join(str(v) for v in col.values)}",
            )
        )
    for outside in (_known_condition(col, typed, rules), _after_as_of_condition(col, typed, rules)):
        if outside:
            checks.append(outside)
    return checks


TOTAL_WORDS = ("итого", "всего", "total", "grand total")
TOTAL_ROW = "^(" + "|".join(TOTAL_WORDS) + ")([^[:alnum:]]|$)"


def _row_checks(header: list[str]) -> list[tuple[str, str, str, str]]:
    """Rows that are not data at all: the header repeated inside the file (exports
    glued together: an exact copy of the header line), and a total line ("Итого",
    "Total") under the data. Written so that a data row fails them at the first cheap
    comparison: these run on every row of a 10M-line file."""
    first = _quote_ident(header[0])
    same_as_header = " and ".join(f"{_quote_ident(h)} = {_sql_literal(h)}" for h in header)
    prefix = " or ".join(f"{first} ilike {_sql_literal(w + '%')}" for w in TOTAL_WORDS)
    total = f"({prefix}) and regexp_matches(lower(trim({first})), {_sql_literal(TOTAL_ROW)})"
    return [
        ("", first, same_as_header, "repeated header row, not data"),
        ("", first, total, "total row, not data"),
    ]


def _not_data(header: list[str]) -> str:
    return " or ".join(f"({cond})" for _, _, cond, _ in _row_checks(header))


def load_export(
    con: duckdb.DuckDBPyConnection,
    spec: SourceSpec,
    path: Path | None,
    run_id: str,
    rules: RowRules = RowRules(),
) -> LoadResult:
    """Load `path` into raw.<source>. The file is parsed into session-local scratch
    tables first; everything the warehouse keeps (table, rejects, load report) is then
    written in one transaction, so a failure or a killed process leaves them as the
    previous load left them. A missing optional file leaves an empty table (or, for an
    incremental source, its history)."""
    ensure_meta_tables(con)
    scratch = Path(tempfile.mkdtemp(prefix="segments-load-"))
    try:
        header, text = None, None
        if path is not None:
            if path.suffix != ".parquet" and path.stat().st_size:
                text = prepare_text(path, spec, scratch)
            header = read_header(con, path, spec, text)
            check_contract(path, spec, header)
            # Outside the transaction: rowids of rows inserted inside one are not 0-based,
            # and the line numbers are derived from them.
            _scan_into_temp(con, path, spec, header, text)
        con.begin()
        try:
            result = _load_in_transaction(con, spec, path, header, run_id, rules)
            con.commit()
        except BaseException:
            con.rollback()
            raise
    finally:
        _drop_scratch(con)
        shutil.rmtree(scratch, ignore_errors=True)
    if text is not None:
        result.encoding, result.delimiter = text.encoding, text.delimiter
    return result


def _load_in_transaction(
    con: duckdb.DuckDBPyConnection,
    spec: SourceSpec,
    path: Path | None,
    header: list[str] | None,
    run_id: str,
    rules: RowRules,
) -> LoadResult:
    target = f"{RAW_SCHEMA}.{spec.name}"
    typed_columns = ", ".join(f"{_quote_ident(c.name)} {c.sql_type}" for c in spec.columns)
    con.execute(
        f"create table if not exists {target} ({typed_columns}, "
        "_source_file varchar, _source_line bigint)"
    )
    if path is None or header is None:
        if not spec.incremental:
            con.execute(f"delete from {target}")
        rows = fetch_one(con, f"select count(*) from {target}")[0]
        result = LoadResult(spec.name, None, None, 0, 0, 0, rows)
        _record_report(con, result, run_id)
        return result

    by_name = map_header(spec, header)
    extra = [h for h in header if h not in by_name.values()]
    missing_optional = [c.name for c in spec.columns if c.name not in by_name]

    # One pass types every value into a scratch table and flags the rows that fail
    # any check; the checks are then spelled out per (row, column) on the few flagged
    # rows only, each failing check one reject record. A row is rejected once however
    # many checks it fails.
    checks = _row_checks(header)
    for col in spec.columns:
        if col.name in by_name:
            raw = _quote_ident(by_name[col.name])
            checks += [
                (col.name, raw, cond, reason)
                for cond, reason in _error_checks(col, raw, spec, rules)
            ]
    # The flag repeats _error_checks on the typed columns, so each value is typed
    # once per row (a condition re-typing it would double the cost at 10M lines).
    typed, flags, bad = [], [f"({_not_data(header)}) as _not_data"], ["_not_data"]
    for c in spec.columns:
        name = _quote_ident(c.name)
        if c.name not in by_name:
            typed.append(f"null::{c.sql_type} as {name}")
            continue
        raw = _quote_ident(by_name[c.name])
        typed.append(f"{_typed_expr(c, raw, spec)} as {name}")
        present = _quote_ident(f"_has_{c.name}")
        flags.append(f"nullif(trim({_translated(c, raw)}), '') is not null as {present}")
        if c.key:
            bad.append(f"not {present}")
        if c.type != "varchar":
            bad.append(f"({present} and {name} is null)")
        if c.values:
            listed = ", ".join(_sql_literal(v) for v in c.values)
            bad.append(f"({name} is not null and {name}::varchar not in ({listed}))")
        for outside in (_known_condition(c, name, rules), _after_as_of_condition(c, name, rules)):
            if outside:
                bad.append(f"({outside[0]})")
    con.execute(
        f"""create temp table _typed as
            select * exclude ({", ".join(f.rsplit(" as ", 1)[1] for f in flags)}),
                   coalesce({" or ".join(bad)}, false) as _is_bad
            from (select {", ".join(typed + flags)}, {_sql_literal(path.name)} as _source_file,
                         _line as _source_line
                  from _scan)"""
    )
    con.execute(
        """create temp table _bad_rows as
           select * from _scan semi join (select _source_line as _line from _typed
                                          where _is_bad) using (_line)"""
    )
    con.execute(
        "create temp table _errors as "
        + " union all ".join(
            [
                f"select _line, {_sql_literal(column)} as column_name, {raw} as value, "
                f"{_sql_literal(reason)} as reason from _bad_rows where {cond}"
                for column, raw, cond, reason in checks
            ]
            + ["select null::bigint, null::varchar, null::varchar, null::varchar where false"]
        )
    )

    # Duplicate primary keys: the last row of the file wins; the others are reported.
    # Grouping first keeps the per-row work to the keys that are in fact duplicated.
    if spec.primary_key:
        pk = ", ".join(_quote_ident(k) for k in spec.primary_key)
        pk_values = ", ".join(f"t.{_quote_ident(k)}" for k in spec.primary_key)
        con.execute(
            f"""insert into _errors
                select t._source_line, {_sql_literal(", ".join(spec.primary_key))},
                       concat_ws('|', {pk_values}),
                       'duplicate key: superseded by line ' || d.winner
                from _typed as t
                join (select {pk}, max(_source_line) as winner from _typed
                      where not _is_bad group by all having count(*) > 1) as d
                    using ({pk})
                where not t._is_bad and t._source_line <> d.winner"""
        )
    # Rows are filtered before they reach the warehouse file: deleting from rows written
    # in the same transaction makes DuckDB rewrite them at commit (3 s at 7M rows).
    loaded = (
        "(select * exclude (_is_bad) from _typed where not _is_bad "
        "and _source_line not in (select _line from _errors))"
    )
    rows_loaded = fetch_one(con, f"select count(*) from {loaded}")[0]

    # Incremental sources keep their history: a re-sent key replaces the stored row.
    has_history = fetch_one(con, f"select count(*) > 0 from {target}")[0]
    if spec.incremental and spec.primary_key and has_history:
        pk = ", ".join(_quote_ident(k) for k in spec.primary_key)
        con.execute(f"create temp table _loaded as select * from {loaded}")
        con.execute(f"delete from {target} where ({pk}) in (select ({pk}) from _loaded)")
        con.execute(f"insert into {target} by name select * from _loaded")
    else:
        con.execute(f"create or replace table {target} as select * from {loaded}")

    rows_read = fetch_one(
        con, "select (select count(*) from _scan) + (select count(distinct line) from _structural)"
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
    if rows_read != rows_loaded + rows_rejected:
        raise RuntimeError(
            f"{path.name}: rows read ({rows_read}) != loaded ({rows_loaded}) + rejected "
            f"({rows_rejected}); this is a bug in the loader, nothing was loaded"
        )
    reasons = dict(
        con.execute(
            "select reason, count(*) from (select reason from _errors union all "
            "select reason from _structural) group by reason order by 2 desc"
        ).fetchall()
    )
    rows_in_table = fetch_one(con, f"select count(*) from {target}")[0]
    unexpected = {}
    for c in spec.columns:
        if c.expected and c.name in by_name:
            listed = ", ".join(_sql_literal(v) for v in c.expected)
            found = con.execute(
                f"""select {_quote_ident(c.name)}::varchar, count(*) from _typed
                    where not _is_bad and {_quote_ident(c.name)} is not null
                      and {_quote_ident(c.name)}::varchar not in ({listed})
                    group by 1 order by 2 desc, 1"""
            ).fetchall()
            if found:
                unexpected[c.name] = dict(found)
    result = LoadResult(
        source=spec.name,
        file_name=path.name,
        sha256=file_sha256(path),
        rows_read=rows_read,
        rows_loaded=rows_loaded,
        rows_rejected=rows_rejected,
        rows_in_table=rows_in_table,
        extra_columns=extra,
        missing_optional_columns=missing_optional,
        reject_reasons=reasons,
        unexpected_values=unexpected,
    )
    _record_report(con, result, run_id)
    return result


def _drop_scratch(con: duckdb.DuckDBPyConnection) -> None:
    con.execute("drop view if exists _scan")
    for temp in (
        "_scan_rows",
        "_scan_numbered",
        "_structural",
        "_errors",
        "_bad_rows",
        "_typed",
        "_loaded",
    ):
        con.execute(f"drop table if exists {temp}")
    for temp in ("_reject_errors", "_reject_scans"):
        con.execute(f"drop table if exists {temp}")


def _record_report(con, result: LoadResult, run_id: str) -> None:
    con.execute(
        f"insert or replace into {LOAD_REPORT_TABLE} values (?, ?, ?, ?, ?, ?, ?, ?, "
        "now()::timestamp)",
        [
            result.source,
            result.file_name,
            result.sha256,
            result.rows_read,
            result.rows_loaded,
            result.rows_rejected,
            result.rows_in_table,
            run_id,
        ],
    )
