"""Ingest assets: one per export file of the contract, loading it into raw.<source>."""

from pathlib import Path

from dagster import (
    AssetExecutionContext,
    AssetKey,
    AssetsDefinition,
    Failure,
    MaterializeResult,
    MetadataValue,
    asset,
)

from pipelines.contract import SourceSpec
from pipelines.loader import ContractError, RowRules, find_export, load_export
from pipelines.resources import PipelineSettings, Warehouse
from pipelines.retries import retry_on_io_errors
from pipelines.settings import OWNER


def row_rules(con, spec: SourceSpec, settings: PipelineSettings) -> RowRules:
    """The values other sources know (a currency needs a rate, or is the reporting
    currency) and the run's as_of, when the run names one."""
    known = {}
    for col in spec.columns:
        if col.known_in:
            source, column = col.known_in.split(".")
            rows = con.execute(f"select distinct upper({column}) from raw.{source}").fetchall()
            values = {r[0] for r in rows if r[0]}
            if col.name == "currency":  # the reporting currency needs no rate
                values.add(settings.rules().revenue.reporting_currency)
            known[col.name] = tuple(sorted(values))
    as_of = settings.resolve_as_of(con) if settings.as_of else None
    return RowRules(known_values=known, as_of=as_of)


def build_ingest_asset(spec: SourceSpec) -> AssetsDefinition:
    required = ", ".join(spec.required_columns)

    @asset(
        key=AssetKey(["raw", spec.name]),
        deps=[AssetKey(["raw", source]) for source in spec.reference_sources],
        group_name="ingest",
        owners=[OWNER],
        kinds={"duckdb", "csv"},
        tags={"source_system": spec.system},
        description=(
            f"{spec.description} Loaded from `{spec.name}.csv` (or `.parquet`) in the "
            f"landing folder into `raw.{spec.name}` with explicit types; bad rows go to "
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
        context: AssetExecutionContext, settings: PipelineSettings, warehouse: Warehouse
    ) -> MaterializeResult:
        exports_dir = Path(settings.exports_dir)
        try:
            path = find_export(exports_dir, spec.name, spec.file_name)
        except ContractError as exc:
            raise Failure(str(exc), allow_retries=False) from exc
        if path is None and spec.required_file:
            raise Failure(
                f"{spec.name}: required export {spec.name}.csv (or .parquet) not found in "
                f"{exports_dir}",
                allow_retries=False,
            )
        if path is None:
            context.log.warning(
                f"{spec.name}: no export file in {exports_dir}; loading an empty table"
            )
        else:
            context.log.info(f"{spec.name}: loading {path}")
        try:
            with retry_on_io_errors(context), warehouse.connect() as con:
                rules = row_rules(con, spec, settings)
                result = load_export(con, spec, path, context.run_id, rules)
        except ContractError as exc:
            raise Failure(str(exc), allow_retries=False) from exc
        if result.extra_columns:
            context.log.info(
                f"{spec.name}: columns not in the contract, ignored: "
                f"{', '.join(result.extra_columns)}"
            )
        for column, values in result.unexpected_values.items():
            shown = ", ".join(f"{v!r} ({n})" for v, n in list(values.items())[:10])
            context.log.warning(
                f"{spec.name}.{column}: values outside the expected list, loaded as they are "
                f"(typos?): {shown}"
            )
        if result.rows_rejected:
            context.log.warning(
                f"{spec.name}: {result.rows_rejected} of {result.rows_read} rows rejected "
                f"(see raw.rejects): {result.reject_reasons}"
            )
        elif path is not None and result.rows_read == 0:
            context.log.warning(f"{spec.name}: {path.name} holds a header and no rows")
        context.log.info(
            f"{spec.name}: {result.rows_loaded} rows loaded, "
            f"{result.rows_in_table} in raw.{spec.name}"
        )
        return MaterializeResult(
            metadata={
                "file_name": result.file_name or "(absent)",
                "encoding": result.encoding or "",
                "delimiter": {"\t": "tab"}.get(result.delimiter, result.delimiter or ""),
                "sha256": result.sha256 or "",
                "rows_read": result.rows_read,
                "rows_loaded": result.rows_loaded,
                "rows_rejected": result.rows_rejected,
                "dagster/row_count": result.rows_in_table,
                "reject_reasons": MetadataValue.json(result.reject_reasons),
                "unexpected_values": MetadataValue.json(result.unexpected_values),
                "ignored_columns": ", ".join(result.extra_columns),
                "absent_optional_columns": ", ".join(result.missing_optional_columns),
            }
        )

    return _ingest


def build_ingest_assets(contract: dict[str, SourceSpec]) -> list[AssetsDefinition]:
    return [build_ingest_asset(spec) for spec in contract.values()]
