"""`segments check`: the pre-flight a data engineer runs before scheduling the night.

It loads the landing folder, through the configured profiles, into a scratch DuckDB
database in memory, never the nightly warehouse, with the same loader and the same row
rules as the night, and reports per source what was found and what would load.
"""

from __future__ import annotations

import datetime as dt
import graphlib
import json
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from pipelines.ingest.contract import SourceSpec
from pipelines.ingest.loader import (
    REJECTS_TABLE,
    ContractError,
    RowRules,
    known_values,
    load_export,
    load_source,
    source_files,
)

TOP_REASONS = 5


@dataclass
class SourceCheck:
    source: str
    required: bool
    file: str | None = None
    encoding: str | None = None
    delimiter: str | None = None
    rows_read: int = 0
    rows_loaded: int = 0
    rows_filtered: int = 0
    rows_rejected: int = 0
    reject_reasons: dict[str, int] = field(default_factory=dict)
    filter_reasons: dict[str, int] = field(default_factory=dict)
    reject_examples: dict[str, str] = field(default_factory=dict)  # reason -> an example
    unmapped_values: dict[str, dict[str, int]] = field(default_factory=dict)
    ignored_columns: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    error: str | None = None  # the file was refused (or a required one is missing)

    @property
    def ok(self) -> bool:
        return self.error is None


def load_order(contract: dict[str, SourceSpec]) -> list[str]:
    """Sources in an order where each comes after those its values are checked against."""
    graph = {name: set(spec.reference_sources) for name, spec in contract.items()}
    return list(graphlib.TopologicalSorter(graph).static_order())


def _examples(con: duckdb.DuckDBPyConnection, source: str) -> dict[str, str]:
    rows = con.execute(
        f"""select reason, arg_min('line ' || line || coalesce(', column ' ||
                   nullif(column_name, ''), '') || ': ' || coalesce(value, '(empty)'), line)
            from {REJECTS_TABLE} where source = ? group by reason""",
        [source],
    ).fetchall()
    return dict(rows)


def check_landing(
    exports_dir: Path,
    contract: dict[str, SourceSpec],
    is_required,
    reporting_currency: str,
    as_of: dt.date | None = None,
) -> list[SourceCheck]:
    """Load every source of `exports_dir` into a scratch database and report. With the
    night's as_of, lines dated after it are rejected as the night would."""
    checks = []
    with duckdb.connect() as con:
        for name in load_order(contract):
            spec = contract[name]
            check = SourceCheck(name, is_required(name, spec.required_file))
            checks.append(check)
            try:
                files = source_files(exports_dir, spec)
                if check.required and not any(path for _, path in files):
                    patterns = [p for part, _ in files for p in part.file_patterns]
                    patterns += spec.contract_file_names
                    check.error = f"required export not found: expected {', '.join(patterns)}"
                known = known_values(con, spec, reporting_currency)
                rules = RowRules(known_values=known, as_of=as_of)
                results = load_source(con, files, "segments-check", rules)
            except ContractError as exc:
                check.error = str(exc)
                load_export(con, spec, None, "segments-check")  # an empty table for the rest
                continue
            check.file = ", ".join(r.file_name for r in results if r.file_name) or None
            encodings = {r.encoding for r in results if r.encoding}
            delimiters = {r.delimiter for r in results if r.delimiter}
            check.encoding = ", ".join(sorted(encodings)) or None
            check.delimiter = ", ".join(sorted(delimiters)) or None
            check.rows_read = sum(r.rows_read for r in results)
            check.rows_loaded = sum(r.rows_loaded for r in results)
            check.rows_filtered = sum(r.rows_filtered for r in results)
            check.rows_rejected = sum(r.rows_rejected for r in results)
            for r in results:
                for reason, n in r.reject_reasons.items():
                    check.reject_reasons[reason] = check.reject_reasons.get(reason, 0) + n
                for reason, n in r.filter_reasons.items():
                    check.filter_reasons[reason] = check.filter_reasons.get(reason, 0) + n
                check.unmapped_values.update(r.unmapped_values)
                check.ignored_columns += r.extra_columns
                check.warnings += r.warnings
            check.reject_examples = _examples(con, name)
    return sorted(checks, key=lambda c: list(contract).index(c.source))


def as_json(checks: list[SourceCheck]) -> str:
    return json.dumps(
        {
            "ok": all(c.ok for c in checks),
            "sources": {
                c.source: {
                    "file": c.file,
                    "required": c.required,
                    "encoding": c.encoding,
                    "delimiter": c.delimiter,
                    "rows_read": c.rows_read,
                    "rows_loaded": c.rows_loaded,
                    "rows_filtered": c.rows_filtered,
                    "rows_rejected": c.rows_rejected,
                    "reject_reasons": c.reject_reasons,
                    "filter_reasons": c.filter_reasons,
                    "reject_examples": c.reject_examples,
                    "unmapped_values": c.unmapped_values,
                    "ignored_columns": c.ignored_columns,
                    "warnings": c.warnings,
                    "error": c.error,
                }
                for c in checks
            },
        },
        ensure_ascii=False,
        indent=2,
    )


def as_text(checks: list[SourceCheck], exports_dir: Path, profiles: list[str]) -> str:
    lines = [f"Landing folder {exports_dir}" + (f", profiles {', '.join(profiles)}" if profiles
             else ", generic contract (no SEGMENTS_PROFILE)"), ""]  # fmt: skip
    for c in checks:
        status = "REFUSED" if c.error else ("ok" if c.file else "absent")
        found = c.file or "(no file)"
        detail = ""
        if c.file:
            delimiter = {"\t": "tab"}.get(c.delimiter or "", c.delimiter or "")
            detail = f" [{c.encoding}{', ' + repr(delimiter) if delimiter else ''}]"
        lines.append(f"{c.source:<14}{status:<9}{found}{detail}")
        if c.error:
            lines.append(f"    {c.error}")
            continue
        if c.file:
            lines.append(
                f"    rows read {c.rows_read:,} = loaded {c.rows_loaded:,} + filtered "
                f"{c.rows_filtered:,} + rejected {c.rows_rejected:,}"
            )
        for reason, count in list(c.filter_reasons.items())[:TOP_REASONS]:
            lines.append(f"    filtered {count:,}: {reason}")
        for reason, count in list(c.reject_reasons.items())[:TOP_REASONS]:
            example = c.reject_examples.get(reason)
            lines.append(
                f"    rejected {count:,}: {reason}" + (f" (e.g. {example})" if example else "")
            )
        for warning in c.warnings:
            lines.append(f"    warning: {warning}")
        if c.ignored_columns:
            shown = ", ".join(c.ignored_columns[:12])
            more = len(c.ignored_columns) - 12
            lines.append(
                f"    ignored columns: {shown}" + (f" and {more} more" if more > 0 else "")
            )
    ok = all(c.ok for c in checks)
    lines += ["", "The set would load." if ok else "The set would NOT load: see REFUSED above."]
    return "\n".join(lines)
