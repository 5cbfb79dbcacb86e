"""Incremental nights (docs/scale.md): whether tonight's dbt build may rebuild only what
tonight's changed invoice lines and the moving windows touch, or must build in full.

The ingest logs every changed invoice line (raw.invoice_lines_changes); the incremental
models (int_invoice_lines_converted, int_client_revenue_windows,
int_client_revenue_monthly) read that log and var('previous_as_of'). After each
successful build its state is stored beside the nightly dbt artifacts
(build_state.json) and the log emptied of what the build consumed, so the next night
can tell what changed since. In that order: a crash between the two leaves changes the
next build applies again, which gives the same rows; never a state without its changes.
"""

import datetime as dt
import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb

from pipelines.db import fetch_one

STATE_FILE = "build_state.json"
CHANGES_TABLE = "raw.invoice_lines_changes"


@dataclass(frozen=True)
class BuildState:
    """What a successful build was built from: its as_of and the fingerprint of every
    other input that would change every line's or every client's figures."""

    as_of: dt.date
    fingerprint: str


@dataclass(frozen=True)
class BuildPlan:
    """Tonight's build: incremental (from previous_as_of), or full, and why."""

    previous_as_of: dt.date | None
    reason: str

    @property
    def incremental(self) -> bool:
        return self.previous_as_of is not None


def plan_build(
    previous: BuildState | None,
    as_of: dt.date,
    fingerprint: str,
    has_reset: bool,
    tracks_lines: bool,
) -> BuildPlan:
    """Incremental only when nothing but invoice lines and the day changed since the
    last build: a window's month-based bounds move with the month, so a new month (or
    an earlier as_of, whose lines would have to leave) builds in full."""
    if not tracks_lines:
        return BuildPlan(None, "full build: revenue comes from won deals, not logged lines")
    if previous is None:
        return BuildPlan(None, "full build: no earlier build of this warehouse")
    if has_reset:
        return BuildPlan(None, "full build: invoice_lines was loaded whole since the last build")
    if previous.fingerprint != fingerprint:
        return BuildPlan(
            None, "full build: the dbt project, the rules or the FX rates changed since the last"
        )
    last = previous.as_of
    if as_of < last:
        return BuildPlan(None, f"full build: as_of {as_of} is before the last build's {last}")
    if (as_of.year, as_of.month) != (last.year, last.month):
        return BuildPlan(None, f"full build: a new month since the last build's as_of {last}")
    return BuildPlan(
        previous.as_of, f"incremental build: changed lines and as_of {previous.as_of} -> {as_of}"
    )


def inputs_fingerprint(
    con: duckdb.DuckDBPyConnection, manifest_path: Path, dbt_vars: dict[str, Any]
) -> str:
    """The project (its parsed manifest), the rules' vars but as_of, and the FX rates:
    a change of any of them changes figures of lines that did not change."""
    digest = hashlib.sha256(manifest_path.read_bytes())
    rules = {k: v for k, v in dbt_vars.items() if k != "as_of"}
    digest.update(json.dumps(rules, sort_keys=True, default=str).encode())
    (rates,) = fetch_one(
        con,
        """select coalesce(md5(string_agg(concat_ws('|', rate_date, currency,
                  rate_to_reporting, units_per_reporting), ',' order by rate_date, currency)), '')
           from raw.fx_rates""",
    )
    digest.update(rates.encode())
    return digest.hexdigest()


def _table_exists(con: duckdb.DuckDBPyConnection, qualified: str) -> bool:
    schema, name = qualified.split(".")
    return bool(
        fetch_one(
            con,
            "select count(*) from information_schema.tables "
            "where table_schema = ? and table_name = ?",
            [schema, name],
        )[0]
    )


def read_state(path: Path) -> BuildState | None:
    """The last successful build's state, or None (none yet, or unreadable: a full
    build is always safe)."""
    try:
        stored = json.loads(path.read_text(encoding="utf-8"))
        return BuildState(dt.date.fromisoformat(stored["as_of"]), stored["fingerprint"])
    except (OSError, ValueError, KeyError, TypeError):
        return None


def pending_changes(con: duckdb.DuckDBPyConnection) -> tuple[int, bool, dt.datetime | None]:
    """The change log: lines waiting for the build, whether a load reset the table,
    and the newest change (what a build started now consumes)."""
    if not _table_exists(con, CHANGES_TABLE):
        return 0, True, None
    lines, reset, newest = fetch_one(
        con,
        f"""select count(*) filter (where change = 'new'),
                   coalesce(bool_or(change = 'reset'), false), max(changed_at)
            from {CHANGES_TABLE}""",
    )
    return lines, reset, newest


def record_build(
    con: duckdb.DuckDBPyConnection,
    path: Path,
    state: BuildState,
    consumed_until: dt.datetime | None,
) -> None:
    """After a successful build: its state, then the change log without what it
    consumed (changes logged after the build started stay for the next one)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(".tmp")
    partial.write_text(
        json.dumps({"as_of": state.as_of.isoformat(), "fingerprint": state.fingerprint}),
        encoding="utf-8",
    )
    partial.replace(path)
    if consumed_until is not None and _table_exists(con, CHANGES_TABLE):
        con.execute(f"delete from {CHANGES_TABLE} where changed_at <= ?", [consumed_until])
