"""Ingest assets: one per export file of the contract, loading it into raw.<source>."""

from collections.abc import Iterator
from pathlib import Path

from dagster import (
    AssetExecutionContext,
    AssetKey,
    AssetsDefinition,
    AssetSpec,
    Failure,
    MaterializeResult,
    MetadataValue,
    TableColumn,
    TableSchema,
    asset,
    multi_asset,
)

from pipelines.catalog import lineage_metadata, table_metadata
from pipelines.db import fetch_one
from pipelines.ingest.contract import ColumnSpec, SourceSpec
from pipelines.ingest.loader import (
    LOAD_REPORT_TABLE,
    REJECTS_TABLE,
    ContractError,
    LoadResult,
    RowRules,
    known_values,
    load_source,
    source_files,
)
from pipelines.resources import NightSettings, PipelineSettings, Warehouse
from pipelines.retries import retry_on_io_errors
from pipelines.settings import OWNER

LOAD_REPORT = AssetKey(["raw", "load_report"])
REJECTS = AssetKey(["raw", "rejects"])
INVOICE_LINE_CHANGES = AssetKey(["raw", "invoice_lines_changes"])


def row_rules(con, spec: SourceSpec, settings: PipelineSettings, night: NightSettings) -> RowRules:
    """The values other sources know and the run's as_of, when the run names one."""
    rules = settings.rules()
    known = known_values(con, spec, rules.revenue.reporting_currency)
    as_of = night.resolve_as_of(con, rules) if night.as_of else None
    return RowRules(known_values=known, as_of=as_of)


def _file_names(spec: SourceSpec) -> list[str]:
    patterns = [p for part in spec.parts or (spec,) for p in part.file_patterns]
    return patterns or [f"{spec.name}.csv"]


def column_description(column: ColumnSpec) -> str:
    """What the contract says of a raw column, in words (the UI's column schema)."""
    parts = [f"Contract column, typed {column.type}"]
    if column.key:
        parts.append("a row without it is rejected")
    elif column.required:
        parts.append("the file is refused without it")
    if column.values:
        parts.append("one of " + ", ".join(map(str, column.values)))
    if column.known_in:
        parts.append(f"must exist in {column.known_in}")
    if column.not_after_as_of:
        parts.append("a date after the night's as_of rejects the row")
    if column.expression:
        parts.append(f"mapped by the profile from: {column.expression}")
    elif column.source_column and column.source_column != (column.name,):
        parts.append(f"exported as {' or '.join(column.source_column)}")
    return "; ".join(parts) + "."


def raw_column_schema(spec: SourceSpec) -> TableSchema:
    return TableSchema(
        columns=[
            *(
                TableColumn(c.name, type=c.sql_type, description=column_description(c))
                for c in spec.columns
            ),
            TableColumn(
                "_source_file", type="VARCHAR", description="The export file the row came from."
            ),
            TableColumn(
                "_source_line",
                type="BIGINT",
                description="The row's line number in that file (rejects name it too).",
            ),
        ]
    )


def build_ingest_asset(spec: SourceSpec) -> AssetsDefinition:
    required = ", ".join(spec.required_columns)

    @asset(
        key=AssetKey(["raw", spec.name]),
        deps=[AssetKey(["raw", source]) for source in spec.reference_sources],
        group_name="ingest",
        owners=[OWNER],
        kinds={"duckdb", "csv"},
        tags={"source_system": spec.system},
        metadata={"dagster/column_schema": raw_column_schema(spec)},
        description=(
            f"{spec.description} Loaded from "
            f"`{'`, `'.join(_file_names(spec))}` (also `.csv.gz`, "
            f"`.parquet`, `.xlsx`) in the landing folder into `raw.{spec.name}` with "
            f"explicit types; bad rows go to "
            f"`raw.rejects` with line, column, value and reason. Required columns: "
            f"{required}."
            + (
                " The file is required."
                if spec.required_file
                else " Optional: absent means an empty table."
            )
        ),
    )
    def _ingest(
        context: AssetExecutionContext,
        settings: PipelineSettings,
        night: NightSettings,
        warehouse: Warehouse,
    ) -> MaterializeResult:
        exports_dir = Path(settings.exports_dir)
        try:
            files = source_files(exports_dir, spec)
        except ContractError as exc:
            raise Failure(str(exc), allow_retries=False) from exc
        required = settings.rules().revenue.export_is_required(spec.name, spec.required_file)
        if required and not any(path for _, path in files):
            expected = [n for part, _ in files for n in (*part.file_patterns,)]
            raise Failure(
                f"{spec.name}: required export not found in {exports_dir}: expected "
                + ", ".join([*expected, *spec.contract_file_names]),
                allow_retries=False,
            )
        for _, path in files:
            if path is not None:
                context.log.info(f"{spec.name}: loading {path}")
        try:
            with retry_on_io_errors(context), warehouse.connect() as con:
                rules = row_rules(con, spec, settings, night)
                results = load_source(con, files, context.run_id, rules)
        except ContractError as exc:
            raise Failure(str(exc), allow_retries=False) from exc
        for result in results:
            _log_result(context, result)
        return MaterializeResult(metadata=_load_metadata(results))

    return _ingest


def _log_result(context: AssetExecutionContext, result: LoadResult) -> None:
    name = result.source + (f" ({result.file_name})" if result.part else "")
    if result.extra_columns:
        context.log.info(
            f"{name}: columns not in the contract, ignored: {', '.join(result.extra_columns)}"
        )
    for warning in result.warnings:
        context.log.warning(warning)
    if result.rows_filtered:
        context.log.info(
            f"{name}: {result.rows_filtered} of {result.rows_read} rows filtered by the "
            f"profile: {result.filter_reasons}"
        )
    if result.rows_rejected:
        context.log.warning(
            f"{name}: {result.rows_rejected} of {result.rows_read} rows rejected "
            f"(see raw.rejects): {result.reject_reasons}"
        )
    phases = ", ".join(f"{phase} {seconds:.1f} s" for phase, seconds in result.timings.items())
    context.log.info(
        f"{name}: {result.rows_loaded} rows loaded, {result.rows_in_table} in raw.{result.source}"
        + (f" ({phases})" if phases else "")
    )


def _load_metadata(results: list[LoadResult]) -> dict:
    """The asset's metadata: one export's figures, or the sum over a source's parts."""

    def total(field: str) -> int:
        return sum(getattr(r, field) for r in results)

    def merged(field: str) -> dict:
        out: dict = {}
        for r in results:
            for key, value in getattr(r, field).items():
                out[key] = out.get(key, 0) + value if isinstance(value, int) else value
        return out

    last = results[-1]
    return {
        "file_name": ", ".join(r.file_name for r in results if r.file_name) or "(absent)",
        "encoding": ", ".join(sorted({r.encoding for r in results if r.encoding})),
        "delimiter": ", ".join(
            sorted({{"\t": "tab"}.get(r.delimiter, r.delimiter) for r in results if r.delimiter})
        ),
        "sha256": ", ".join(r.sha256 for r in results if r.sha256),
        "rows_read": total("rows_read"),
        "rows_loaded": total("rows_loaded"),
        "rows_filtered": total("rows_filtered"),
        "rows_rejected": total("rows_rejected"),
        "dagster/row_count": last.rows_in_table,
        "reject_reasons": MetadataValue.json(merged("reject_reasons")),
        "filter_reasons": MetadataValue.json(merged("filter_reasons")),
        "unexpected_values": MetadataValue.json(merged("unexpected_values")),
        "unmapped_values": MetadataValue.json(merged("unmapped_values")),
        "note": "; ".join(r.note for r in results if r.note),
        "ignored_columns": ", ".join(c for r in results for c in r.extra_columns),
        "absent_optional_columns": ", ".join(
            sorted(set.intersection(*(set(r.missing_optional_columns) for r in results)))
        ),
    }


def build_ingest_assets(contract: dict[str, SourceSpec]) -> list[AssetsDefinition]:
    """One asset per source of the contract, and the night's load report over them."""
    return [*(build_ingest_asset(spec) for spec in contract.values()), build_load_report(contract)]


def build_load_report(contract: dict[str, SourceSpec]) -> AssetsDefinition:
    """raw.load_report and raw.rejects: every ingest asset writes its rows there as it
    loads; this step, after all of them, declares both tables to the lineage, verifies
    the night's accounting (rows read = loaded + filtered + rejected, for every file) and
    shows it."""
    sources = [AssetKey(["raw", name]) for name in contract]

    @multi_asset(
        name="load_report",
        specs=[
            AssetSpec(
                LOAD_REPORT,
                metadata=table_metadata(LOAD_REPORT),
                deps=sources,
                group_name="ingest",
                owners=[OWNER],
                kinds={"duckdb"},
                description=(
                    "One row per source (and per export of a source fed by several) of the "
                    "night: file, sha256, rows read, loaded, filtered and rejected, and a "
                    "note (absent file, fallbacks). Published as load_report."
                ),
            ),
            AssetSpec(
                REJECTS,
                metadata=table_metadata(REJECTS),
                deps=sources,
                group_name="ingest",
                owners=[OWNER],
                kinds={"duckdb"},
                description=(
                    "Every rejected row of every night: run, source, file, line, column, "
                    "value and the reason in words. Stays in the warehouse (it may hold "
                    "personal data); never published."
                ),
            ),
            AssetSpec(
                INVOICE_LINE_CHANGES,
                metadata=table_metadata(INVOICE_LINE_CHANGES),
                deps=[AssetKey(["raw", "invoice_lines"])],
                group_name="ingest",
                owners=[OWNER],
                kinds={"duckdb"},
                description=(
                    "The invoice lines loads changed that no successful dbt build has "
                    "consumed yet, each in its stored and its new version: what an "
                    "incremental night rebuilds from (docs/scale.md)."
                ),
            ),
        ],
    )
    def load_report(
        context: AssetExecutionContext, warehouse: Warehouse
    ) -> Iterator[MaterializeResult]:
        with warehouse.connect(read_only=True) as con:
            report = con.sql(
                f"""select source, part, coalesce(file_name, '(absent)') as file_name,
                           rows_read, rows_loaded, rows_filtered, rows_rejected
                    from {LOAD_REPORT_TABLE} order by source, part"""
            ).df()
            changed_lines = fetch_one(
                con,
                "select count(*) filter (where change = 'new') from "
                + ".".join(INVOICE_LINE_CHANGES.path),
            )[0]
            rejects = con.sql(
                f"""select source, reason, count(*) as n from {REJECTS_TABLE}
                    where run_id in (select run_id from {LOAD_REPORT_TABLE})
                    group by all order by n desc, source, reason limit 20"""
            ).df()
        unbalanced = report[
            report["rows_read"]
            != report["rows_loaded"] + report["rows_filtered"] + report["rows_rejected"]
        ]
        if len(unbalanced):
            raise Failure(
                "rows read != loaded + filtered + rejected for "
                + ", ".join(f"{r.source} ({r.file_name})" for r in unbalanced.itertuples()),
                allow_retries=False,
            )
        table = "| source | file | read | loaded | filtered | rejected |\n"
        table += "|---|---|---:|---:|---:|---:|\n" + "\n".join(
            f"| {r.source} | {r.file_name} | {r.rows_read:,} | {r.rows_loaded:,} | "
            f"{r.rows_filtered:,} | {r.rows_rejected:,} |"
            for r in report.itertuples()
        )
        yield MaterializeResult(
            asset_key=LOAD_REPORT,
            metadata={
                **lineage_metadata(LOAD_REPORT, warehouse.path),
                "dagster/row_count": len(report),
                "loads": MetadataValue.md(table),
            },
        )
        reasons = "| source | reason | rows |\n|---|---|---:|\n" + "\n".join(
            f"| {r.source} | {r.reason} | {r.n:,} |" for r in rejects.itertuples()
        )
        yield MaterializeResult(
            asset_key=INVOICE_LINE_CHANGES,
            metadata={
                **lineage_metadata(INVOICE_LINE_CHANGES, warehouse.path),
                "changed_lines": changed_lines,
            },
        )
        yield MaterializeResult(
            asset_key=REJECTS,
            metadata={
                **lineage_metadata(REJECTS, warehouse.path),
                "rejected_tonight": int(report["rows_rejected"].sum()),
                "top_reasons": MetadataValue.md(reasons),
            },
        )

    return load_report
