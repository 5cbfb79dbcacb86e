"""Publication (DOMAIN 9): one `segments.duckdb` in the publish folder, replaced whole.

FACTS measured: a DuckDB file built under a temporary name in the same folder and
renamed over the published one gives readers the old or the new night, never a mix
(open connections keep the old snapshot). Nothing a reader may have open is ever
written in place, and a published file is never opened read-write.
"""

import datetime as dt
import json
import os
from dataclasses import dataclass
from pathlib import Path

import duckdb
from dagster import (
    AssetExecutionContext,
    AssetKey,
    Failure,
    MaterializeResult,
    MetadataValue,
    asset,
)

from pipelines.db import fetch_one
from pipelines.quality import AUDITED_TABLE, latest_audit, table_fingerprint
from pipelines.resources import PipelineSettings, Warehouse
from pipelines.retries import retry_on_io_errors
from pipelines.segmentation import CLIENT_SEGMENTS, CLIENT_SEGMENTS_COLUMNS, SCHEMA, SEGMENT_MIX
from pipelines.settings import OWNER

PUBLISHED_FILE = "segments.duckdb"


# What a reader of load_report must know beyond row counts (DOMAIN 1-2): billed
# accounts missing from tonight's CRM keep their revenue with empty attributes, and
# lines with no FX rate cannot be converted.
LOAD_NOTES_SQL = """
    select 'invoice_lines' as source, concat_ws('; ',
        case when count(*) filter (where not is_in_crm) > 0 then
            count(*) filter (where not is_in_crm) || ' billed client(s) missing from the '
            || 'CRM snapshot: revenue kept, attributes empty' end,
        case when (select count(*) from wh.intermediate.int_invoice_lines_missing_fx_rate) > 0
            then (select count(*) from wh.intermediate.int_invoice_lines_missing_fx_rate)
            || ' line(s) without an FX rate, left out of revenue' end) as notes
    from wh.marts.dim_clients
"""


@dataclass(frozen=True)
class PublishedTable:
    name: str
    select: str  # reads the warehouse (attached as `wh`); stamps are added around it


def published_tables() -> list[PublishedTable]:
    """Every published table. Rejects stay in the warehouse: they may hold personal data."""
    stamp = "?::varchar as run_id, ?::varchar as config_version"
    return [
        PublishedTable(
            "client_segments",
            f"select {', '.join(CLIENT_SEGMENTS_COLUMNS)} "
            f"from wh.{AUDITED_TABLE} order by account_id",
        ),
        PublishedTable(
            "segment_mix",
            f"select * exclude (run_id, config_version), {stamp} from wh.{SCHEMA}.segment_mix",
        ),
        PublishedTable(
            "client_revenue_monthly",
            f"select *, {stamp} from wh.marts.fct_client_revenue_monthly "
            "order by account_id, revenue_month",
        ),
        PublishedTable(
            "portfolio_concentration", f"select *, {stamp} from wh.marts.portfolio_concentration"
        ),
        PublishedTable(
            "load_report",
            "select r.source, r.file_name, r.sha256, r.rows_read, r.rows_loaded, "
            "r.rows_rejected, coalesce(n.notes, '') as notes, "
            "r.run_id as loaded_by_run_id, r.loaded_at, ?::date as as_of, "
            f"{stamp} from wh.raw.load_report as r "
            f"left join ({LOAD_NOTES_SQL}) as n using (source) order by r.source",
        ),
    ]


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def build_release_file(
    warehouse_path: Path,
    target: Path,
    run_id: str,
    config_version: str,
    as_of: dt.date,
    audit_fingerprint: str,
) -> dict[str, int]:
    """Write every published table into `target` (a new file); returns row counts."""
    published_at = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    con = duckdb.connect(str(target))
    counts: dict[str, int] = {}
    try:
        con.execute(f"attach '{warehouse_path}' as wh (read_only)")
        for table in published_tables():
            params = ([as_of] if table.name == "load_report" else []) + (
                [] if table.name == "client_segments" else [run_id, config_version]
            )
            con.execute(
                f"create table {table.name} as select *, ?::timestamp as published_at "
                f"from ({table.select})",
                [published_at, *params],
            )
            counts[table.name] = fetch_one(con, f"select count(*) from {table.name}")[0]
        con.execute(
            "create table release as select ?::date as as_of, ?::varchar as run_id, "
            "?::varchar as config_version, ?::timestamp as published_at, "
            "?::varchar as audited_fingerprint, 'passed' as audit_status, "
            "?::json as row_counts",
            [as_of, run_id, config_version, published_at, audit_fingerprint, json.dumps(counts)],
        )
        con.execute("detach wh")
        con.execute("checkpoint")
    finally:
        con.close()
    return counts


def publish_release(
    warehouse: Warehouse, publish_dir: Path, log
) -> tuple[Path, dict[str, int], dict]:
    """Re-verify the audit, build the new file beside the old one, rename it over."""
    publish_dir.mkdir(parents=True, exist_ok=True)
    with warehouse.connect(read_only=True) as con:
        audit = latest_audit(con)
        current = table_fingerprint(con, AUDITED_TABLE)
        release = fetch_one(
            con,
            f"select any_value(as_of), any_value(run_id), any_value(config_version) "
            f"from {AUDITED_TABLE}",
        )
    if audit is None:
        raise Failure(
            f"{AUDITED_TABLE} has never been audited: run the quality gate "
            "(the full job) before publishing. Nothing was published.",
            allow_retries=False,
        )
    fingerprint, passed, failures = audit
    if not passed:
        raise Failure(
            f"The latest audit of {AUDITED_TABLE} failed ({'; '.join(failures)}). "
            "Nothing was published; the previous release stays in place.",
            allow_retries=False,
        )
    if fingerprint != current:
        raise Failure(
            f"{AUDITED_TABLE} changed since its last passing audit (audited "
            f"{fingerprint}, now {current}). Nothing was published.",
            allow_retries=False,
        )
    as_of, run_id, config_version = release
    target = publish_dir / PUBLISHED_FILE
    temporary = publish_dir / f".{PUBLISHED_FILE}.{run_id}.tmp"
    for leftover in publish_dir.glob(f".{PUBLISHED_FILE}.*.tmp*"):
        log.warning(f"removing leftover of an interrupted publication: {leftover}")
        leftover.unlink()
    try:
        counts = build_release_file(
            Path(warehouse.path), temporary, run_id, config_version, as_of, fingerprint
        )
        if Path(f"{temporary}.wal").exists():
            raise Failure(f"{temporary}.wal remains after checkpoint: refusing to publish")
        with duckdb.connect(str(temporary), read_only=True) as check:
            published_rows = fetch_one(check, "select count(*) from client_segments")[0]
        if published_rows != counts["client_segments"]:
            raise Failure("the new release does not read back as written: not published")
        _fsync(temporary)
        stale_wal = Path(f"{target}.wal")
        if stale_wal.exists():
            # Left by a process that opened the published file read-write and crashed;
            # after the swap it would make every open fail (WAL does not match).
            log.warning(f"removing stale {stale_wal}")
            stale_wal.unlink()
        os.replace(temporary, target)
        _fsync(publish_dir)
    finally:
        temporary.unlink(missing_ok=True)
    return target, counts, {"as_of": str(as_of), "run_id": run_id, "config_version": config_version}


@asset(
    key=AssetKey(["publish", "segments_release"]),
    deps=[
        CLIENT_SEGMENTS,
        SEGMENT_MIX,
        AssetKey(["marts", "fct_client_revenue_monthly"]),
        AssetKey(["marts", "portfolio_concentration"]),
    ],
    group_name="publish",
    owners=[OWNER],
    kinds={"duckdb"},
    description=(
        "The published release BI tools read: `segments.duckdb` in the publish folder with "
        "client_segments, segment_mix, client_revenue_monthly, portfolio_concentration, "
        "load_report and release. Published only when the latest audit of client_segments "
        "passed and matches its current content; replaced atomically by rename."
    ),
)
def segments_release(
    context: AssetExecutionContext, settings: PipelineSettings, warehouse: Warehouse
) -> MaterializeResult:
    with retry_on_io_errors(context):
        target, counts, release = publish_release(
            warehouse, Path(settings.publish_dir), context.log
        )
    context.log.info(f"published {target} for as_of {release['as_of']}: {counts}")
    return MaterializeResult(
        metadata={
            "path": MetadataValue.path(str(target)),
            **release,
            "row_counts": MetadataValue.json(counts),
        }
    )
