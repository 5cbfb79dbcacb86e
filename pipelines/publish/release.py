"""Publication (docs/publication.md): one `segments.duckdb` in the publish folder, replaced whole.

FACTS measured: a DuckDB file built under a temporary name in the same folder and
renamed over the published one gives readers the old or the new night, never a mix
(open connections keep the old snapshot). Nothing a reader may have open is ever
written in place, and a published file is never opened read-write.
"""

import datetime as dt
import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import duckdb
from dagster import (
    AssetExecutionContext,
    AssetKey,
    AssetsDefinition,
    AssetSpec,
    Failure,
    FreshnessPolicy,
    MaterializeResult,
    MetadataValue,
    multi_asset,
)

from pipelines.catalog import lineage_metadata, table_metadata
from pipelines.db import fetch_one
from pipelines.ingest.crm_history import SEGMENT_HISTORY_TABLE, ensure_history_tables
from pipelines.marts.models import Marts, relation
from pipelines.publish.dictionary import describe_release
from pipelines.publish.postgres import publish_to_postgres
from pipelines.publish.releases import (
    Totals,
    archive_release,
    content_hash,
    drop_violations,
    fsync_path,
    published_totals,
)
from pipelines.quality.gates import (
    AUDIT_LOG_KEY,
    AUDITED_TABLE,
    CROSS_SELL_TABLE,
    FUNNEL_STAGES_TABLE,
    FUNNEL_TABLE,
    GATED_TABLES,
    LEADS_TABLE,
    RETENTION_TABLE,
    latest_audit,
    table_fingerprint,
)
from pipelines.resources import NightSettings, PipelineSettings, Warehouse
from pipelines.retries import retry_on_io_errors
from pipelines.rules.cross_sell import CROSS_SELL_COLUMNS
from pipelines.rules.funnel import (
    SALES_FUNNEL,
    SALES_FUNNEL_COLUMNS,
    SALES_FUNNEL_STAGES,
    SALES_FUNNEL_STAGES_COLUMNS,
)
from pipelines.rules.leads import LEAD_RANKINGS, LEAD_RANKINGS_COLUMNS
from pipelines.rules.retention import RETENTION_RISKS_COLUMNS
from pipelines.rules.segmentation import (
    CLIENT_SEGMENTS,
    CLIENT_SEGMENTS_COLUMNS,
    CROSS_SELL,
    RETENTION_RISKS,
    SCHEMA,
    SEGMENT_MIX,
    SEGMENT_TRANSITIONS,
)
from pipelines.settings import OWNER, PUBLISHED_FILE

SEGMENTS_RELEASE = AssetKey(["publish", "segments_release"])


@dataclass(frozen=True)
class PostgresTarget:
    url: str  # from the environment only; never logged
    schema: str = "segments"
    readers: tuple[str, ...] = ()


SEGMENT_HISTORY = AssetKey(["history", "client_segments"])


@dataclass(frozen=True)
class PublishedTable:
    name: str
    select: str  # reads the warehouse (attached as `wh`); stamps are added around it
    source: str  # the warehouse table it publishes ("schema.table"): its column docs


def published_tables(marts: Marts) -> list[PublishedTable]:
    """Every published table. Rejects stay in the warehouse: they may hold personal data."""
    stamp = "?::varchar as run_id, ?::varchar as config_version"
    return [
        PublishedTable(
            "client_segments",
            f"select {', '.join(CLIENT_SEGMENTS_COLUMNS)} "
            f"from wh.{AUDITED_TABLE} order by account_id",
            AUDITED_TABLE,
        ),
        PublishedTable(
            "segment_mix",
            f"select * exclude (run_id, config_version), {stamp} from wh.{SCHEMA}.segment_mix",
            f"{SCHEMA}.segment_mix",
        ),
        PublishedTable(
            "client_revenue_monthly",
            f"select *, {stamp} from wh.{relation(marts.revenue_monthly)} "
            "order by account_id, revenue_month",
            relation(marts.revenue_monthly),
        ),
        PublishedTable(
            "portfolio_concentration",
            f"select *, {stamp} from wh.{relation(marts.portfolio_concentration)}",
            relation(marts.portfolio_concentration),
        ),
        PublishedTable(
            "retention_risks",
            f"select {', '.join(RETENTION_RISKS_COLUMNS)} from wh.{RETENTION_TABLE} "
            "order by account_id, severity_points desc, flag",
            RETENTION_TABLE,
        ),
        PublishedTable(
            "lead_rankings",
            f"select {', '.join(LEAD_RANKINGS_COLUMNS)} from wh.{LEADS_TABLE} "
            "order by bant_rank nulls last, lead_id",
            LEADS_TABLE,
        ),
        PublishedTable(
            "cross_sell",
            f"select {', '.join(CROSS_SELL_COLUMNS)} from wh.{CROSS_SELL_TABLE} "
            "order by account_id, rank_for_client",
            CROSS_SELL_TABLE,
        ),
        PublishedTable(
            "sales_funnel",
            f"select {', '.join(SALES_FUNNEL_COLUMNS)} from wh.{FUNNEL_TABLE}",
            FUNNEL_TABLE,
        ),
        PublishedTable(
            "sales_funnel_stages",
            f"select {', '.join(SALES_FUNNEL_STAGES_COLUMNS)} from wh.{FUNNEL_STAGES_TABLE}",
            FUNNEL_STAGES_TABLE,
        ),
        PublishedTable(
            "segment_transitions",
            f"select * from wh.{SCHEMA}.segment_transitions order by from_segment, to_segment",
            f"{SCHEMA}.segment_transitions",
        ),
        # Every published night before this one, and this one.
        PublishedTable(
            "segment_history",
            f"""select as_of, account_id, segment, revenue_t12m, risk_level,
                       run_id, config_version
                from wh.{SEGMENT_HISTORY_TABLE}
                where as_of <> (select any_value(as_of) from wh.{AUDITED_TABLE})
                union all
                select as_of, account_id, segment, revenue_t12m, risk_level,
                       run_id, config_version
                from wh.{AUDITED_TABLE}
                order by as_of, account_id""",
            "publish.segment_history",
        ),
        PublishedTable(
            "load_report",
            "select source, file_name, sha256, rows_read, rows_loaded, rows_filtered, "
            "rows_rejected, notes, loaded_by_run_id, loaded_at, ?::date as as_of, "
            f"{stamp} from wh.{relation(marts.source_loads)} order by source, part",
            relation(marts.source_loads),
        ),
    ]


def build_release_file(
    warehouse: Warehouse,
    target: Path,
    run_id: str,
    config_version: str,
    as_of: dt.date,
    audit_fingerprint: str,
    marts: Marts,
) -> dict[str, int]:
    """Write every published table into `target` (a new file); returns row counts."""
    published_at = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    con = warehouse.limit(duckdb.connect(str(target)))
    counts: dict[str, int] = {}
    try:
        con.execute(f"attach '{warehouse.path}' as wh (read_only)")
        for table in published_tables(marts):
            params = ([as_of] if table.name == "load_report" else []) + (
                [run_id, config_version] if "?::varchar as run_id" in table.select else []
            )
            con.execute(
                f"create table {table.name} as select *, ?::timestamp as published_at "
                f"from ({table.select})",
                [published_at, *params],
            )
            counts[table.name] = fetch_one(con, f"select count(*) from {table.name}")[0]
        con.execute("detach wh")
        # What a reader needs to know which night it reads and that it is whole: one row
        # per table with its row count and a content hash that two runs of the same night
        # share (run ids and timestamps left out); and what every column means.
        con.execute(
            """create table release (as_of date, run_id varchar, config_version varchar,
                published_at timestamp, audited_fingerprint varchar, audit_status varchar,
                row_counts varchar)"""
        )
        con.execute(
            """create table release_manifest (as_of date, run_id varchar,
                config_version varchar, published_at timestamp, table_name varchar,
                row_count bigint, content_hash varchar, audit_status varchar)"""
        )
        counts["data_dictionary"] = describe_release(
            con, {t.name: t.source for t in published_tables(marts)}
        )
        con.execute(
            "insert into release values (?, ?, ?, ?, ?, 'passed', ?)",
            [as_of, run_id, config_version, published_at, audit_fingerprint, json.dumps(counts)],
        )
        gated = {table.split(".")[1] for table in GATED_TABLES}
        for name, rows in counts.items():
            con.execute(
                "insert into release_manifest values (?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    as_of,
                    run_id,
                    config_version,
                    published_at,
                    name,
                    rows,
                    content_hash(con, name),
                    "passed" if name in gated else "not gated",
                ],
            )
        con.execute("checkpoint")
    finally:
        con.close()
    return counts


def _verified_fingerprint(con, table: str) -> str:
    """The content fingerprint of `table` if its latest audit passed on exactly this
    content; otherwise a Failure saying why nothing is published."""
    audit = latest_audit(con, table)
    if audit is None:
        raise Failure(
            f"{table} has never been audited: run the quality gate "
            "(the full job) before publishing. Nothing was published.",
            allow_retries=False,
        )
    fingerprint, passed, failures = audit
    if not passed:
        raise Failure(
            f"The latest audit of {table} failed ({'; '.join(failures)}). "
            "Nothing was published; the previous release stays in place.",
            allow_retries=False,
        )
    current = table_fingerprint(con, table)
    if fingerprint != current:
        raise Failure(
            f"{table} changed since its last passing audit (audited "
            f"{fingerprint}, now {current}). Nothing was published.",
            allow_retries=False,
        )
    return fingerprint


def record_published_night(con: duckdb.DuckDBPyConnection) -> int:
    """Keep the night just published in the segment history (re-publishing a night
    replaces it); returns the rows recorded."""
    ensure_history_tables(con)
    (as_of,) = fetch_one(con, f"select any_value(as_of) from {AUDITED_TABLE}")
    con.begin()
    try:
        con.execute(f"delete from {SEGMENT_HISTORY_TABLE} where as_of = ?", [as_of])
        con.execute(
            f"""insert into {SEGMENT_HISTORY_TABLE}
                select as_of, account_id, segment, revenue_t12m, risk_level, run_id,
                       config_version
                from {AUDITED_TABLE} order by account_id"""
        )
        con.commit()
    except BaseException:
        con.rollback()
        raise
    return fetch_one(con, f"select count(*) from {SEGMENT_HISTORY_TABLE} where as_of = ?", [as_of])[
        0
    ]


def publish_release(
    warehouse: Warehouse,
    publish_dir: Path,
    log,
    marts: Marts,
    max_drop_share: float = 1.0,
    accept_drop: bool = False,
    keep_releases: int = 7,
    postgres: PostgresTarget | None = None,
) -> tuple[Path, dict[str, int], dict]:
    """Re-verify the audits and the drop guard, build the new file beside the old one,
    swap it into `postgres` when given, rename it over, and keep a copy among the newest
    `keep_releases`."""
    publish_dir.mkdir(parents=True, exist_ok=True)
    with warehouse.connect(read_only=True) as con:
        fingerprints = {table: _verified_fingerprint(con, table) for table in GATED_TABLES}
        release = fetch_one(
            con,
            f"select any_value(as_of), any_value(run_id), any_value(config_version) "
            f"from {AUDITED_TABLE}",
        )
        clients, revenue = fetch_one(
            con, f"select count(*), coalesce(sum(revenue_t12m), 0)::double from {AUDITED_TABLE}"
        )
    problems = drop_violations(
        published_totals(publish_dir / PUBLISHED_FILE), Totals(clients, revenue), max_drop_share
    )
    if problems and not accept_drop:
        raise Failure(
            "Publication refused against the previous release: "
            + "; ".join(problems)
            + ". If this is real (a lost region, a purge), re-run with "
            "`resources: {night: {config: {accept_drop: true}}}` (run config) or "
            "SEGMENTS_ACCEPT_DROP=1. The previous release stays in place.",
            allow_retries=False,
        )
    for problem in problems:
        log.warning(f"accepted by the run's accept_drop: {problem}")
    fingerprint = json.dumps(fingerprints)
    as_of, run_id, config_version = release
    target = publish_dir / PUBLISHED_FILE
    temporary = publish_dir / f".{PUBLISHED_FILE}.{run_id}.tmp"
    for leftover in publish_dir.glob(f".{PUBLISHED_FILE}.*.tmp*"):
        log.warning(f"removing leftover of an interrupted publication: {leftover}")
        leftover.unlink()
    try:
        counts = build_release_file(
            warehouse, temporary, run_id, config_version, as_of, fingerprint, marts
        )
        if Path(f"{temporary}.wal").exists():
            raise Failure(f"{temporary}.wal remains after checkpoint: refusing to publish")
        with duckdb.connect(str(temporary), read_only=True) as check:
            published_rows = fetch_one(check, "select count(*) from client_segments")[0]
        if published_rows != counts["client_segments"]:
            raise Failure("the new release does not read back as written: not published")
        fsync_path(temporary)
        if postgres is not None:
            # Before the rename: a failure here leaves both the DuckDB file and the
            # PostgreSQL schema on the previous night.
            publish_to_postgres(
                postgres.url, temporary, postgres.schema, list(postgres.readers), log
            )
        stale_wal = Path(f"{target}.wal")
        if stale_wal.exists():
            # Left by a process that opened the published file read-write and crashed;
            # after the swap it would make every open fail (WAL does not match).
            log.warning(f"removing stale {stale_wal}")
            stale_wal.unlink()
        os.replace(temporary, target)
        fsync_path(publish_dir)
    finally:
        temporary.unlink(missing_ok=True)
    archive_release(target, as_of, run_id, keep_releases, log)
    return target, counts, {"as_of": str(as_of), "run_id": run_id, "config_version": config_version}


def build_release_asset(marts: Marts, max_age_hours: float = 26.0) -> AssetsDefinition:
    """The published release, and the segment history it keeps of every published night.
    The release is stale (its freshness fails in the UI) when the last good publication
    (a failed gate publishes nothing) is older than `max_age_hours`."""

    @multi_asset(
        name="publish__segments_release",
        specs=[
            AssetSpec(
                SEGMENTS_RELEASE,
                freshness_policy=FreshnessPolicy.time_window(
                    fail_window=dt.timedelta(hours=max_age_hours)
                ),
                deps=[
                    CLIENT_SEGMENTS,
                    SEGMENT_MIX,
                    SEGMENT_TRANSITIONS,
                    RETENTION_RISKS,
                    LEAD_RANKINGS,
                    CROSS_SELL,
                    SALES_FUNNEL,
                    SALES_FUNNEL_STAGES,
                    AUDIT_LOG_KEY,
                    marts.revenue_monthly,
                    marts.portfolio_concentration,
                    marts.source_loads,
                ],
                group_name="publish",
                owners=[OWNER],
                kinds={"duckdb"},
                description=(
                    f"The published release BI tools read: `{PUBLISHED_FILE}` in the publish "
                    "folder with client_segments, segment_mix, client_revenue_monthly, "
                    "portfolio_concentration, retention_risks, lead_rankings, cross_sell, "
                    "sales_funnel, sales_funnel_stages, segment_transitions, segment_history, "
                    "load_report, release and release_manifest. Published only when the "
                    "latest audits (audit/audit_log) of client_segments, retention_risks, "
                    "lead_rankings, cross_sell, sales_funnel and sales_funnel_stages passed "
                    "on their current content; replaced atomically by rename."
                ),
            ),
            AssetSpec(
                SEGMENT_HISTORY,
                metadata=table_metadata(SEGMENT_HISTORY),
                deps=[CLIENT_SEGMENTS],
                group_name="publish",
                owners=[OWNER],
                kinds={"duckdb"},
                description=(
                    "Every published night's client segments (as_of, account_id, segment, "
                    "revenue_t12m, risk_level), written once the release is published; "
                    "re-publishing a night replaces it. The next night's "
                    "segment_transitions compare with the latest earlier night here (a "
                    "dependency on an earlier night, so not drawn as an edge)."
                ),
            ),
        ],
    )
    def segments_release(
        context: AssetExecutionContext,
        settings: PipelineSettings,
        night: NightSettings,
        warehouse: Warehouse,
    ) -> Iterator[MaterializeResult]:
        with retry_on_io_errors(context):
            target, counts, release = publish_release(
                warehouse,
                Path(settings.publish_dir),
                context.log,
                marts,
                max_drop_share=settings.rules().quality.max_drop_share,
                accept_drop=night.accept_drop,
                keep_releases=settings.keep_releases,
                postgres=PostgresTarget(
                    settings.postgres_url,
                    settings.postgres_schema,
                    tuple(settings.postgres_readers),
                )
                if settings.postgres_url
                else None,
            )
        context.log.info(f"published {target} for as_of {release['as_of']}: {counts}")
        yield MaterializeResult(
            asset_key=SEGMENTS_RELEASE,
            metadata={
                "path": MetadataValue.path(str(target)),
                **release,
                "row_counts": MetadataValue.json(counts),
            },
        )
        with warehouse.connect() as con:
            recorded = record_published_night(con)
            nights = fetch_one(con, f"select count(distinct as_of) from {SEGMENT_HISTORY_TABLE}")
        context.log.info(f"segment history: {recorded} clients recorded for {release['as_of']}")
        yield MaterializeResult(
            asset_key=SEGMENT_HISTORY,
            metadata={
                **lineage_metadata(SEGMENT_HISTORY, warehouse.path),
                "as_of": release["as_of"],
                "dagster/row_count": recorded,
                "nights_kept": nights[0],
            },
        )

    return segments_release
