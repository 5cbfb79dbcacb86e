"""Resources: the run's settings (as_of and paths, overridable per run) and the warehouse."""

import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import duckdb
from dagster import ConfigurableResource, Failure
from pydantic import Field

from assets.config import RulesConfig, load_rules
from pipelines.db import fetch_one
from pipelines.ingest.contract import SourceSpec, load_contract
from pipelines.settings import from_env

_ENV = from_env()


class PipelineSettings(ConfigurableResource):
    """Where exports are read and tables published, and the night (as_of) being computed.

    Defaults come from the SEGMENTS_* environment variables; any field can be set per
    run in the launchpad (`resources: {settings: {config: {as_of: "2011-12-09"}}}`).
    """

    exports_dir: str = Field(
        default=str(_ENV.effective_exports_dir),
        description="Landing folder of the night's export files.",
    )
    publish_dir: str = Field(
        default=str(_ENV.publish_dir), description="Folder BI tools read segments.duckdb from."
    )
    rules_path: str = Field(
        default=str(_ENV.rules_path), description="Business rules' config file (segmentation.yml)."
    )
    contract_path: str = Field(
        default=str(_ENV.contract_path), description="Export contract (contract.yml)."
    )
    as_of: str | None = Field(
        default=_ENV.as_of,
        description="The night computed, YYYY-MM-DD. Empty: the latest invoice date loaded.",
    )

    accept_drop: bool = Field(
        default=_ENV.accept_drop,
        description="Publish even when clients or revenue dropped more than the config allows.",
    )
    keep_releases: int = Field(
        default=_ENV.keep_releases, description="How many published releases to keep."
    )

    def rules(self) -> RulesConfig:
        return load_rules(Path(self.rules_path), _ENV.revenue_overrides)

    def contract(self) -> dict[str, SourceSpec]:
        return load_contract(Path(self.contract_path), list(_ENV.profile_paths))

    def resolve_as_of(self, con: duckdb.DuckDBPyConnection) -> dt.date:
        if self.as_of:
            try:
                return dt.date.fromisoformat(self.as_of)
            except ValueError as exc:
                raise Failure(
                    f"as_of {self.as_of!r} is not a date in format YYYY-MM-DD", allow_retries=False
                ) from exc
        if self.rules().revenue.source == "won_deals":
            # The latest close date of a won deal (as stg_crm__deals says won); only when
            # none has one, the latest expected close date that dates a won deal's line.
            latest = fetch_one(
                con,
                """select coalesce(max(closed_at), max(expected_close_date))
                   from raw.deals where coalesce(is_won, stage = 'won')""",
            )[0]
            what = "raw.deals holds no won deal to take the latest close date from"
        else:
            latest = fetch_one(con, "select max(invoice_date) from raw.invoice_lines")[0]
            what = "raw.invoice_lines holds no line to take the latest invoice date from"
        if latest is None:
            raise Failure(f"as_of is not set and {what}", allow_retries=False)
        return latest


class Warehouse(ConfigurableResource):
    """The pipeline's own DuckDB file. BI tools never open it (they read the published
    copy), so a lock on it means another pipeline process: fail fast and say so."""

    path: str = Field(default=str(_ENV.warehouse_path))

    @contextmanager
    def connect(self, read_only: bool = False) -> Iterator[duckdb.DuckDBPyConnection]:
        Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        try:
            con = duckdb.connect(self.path, read_only=read_only)
        except duckdb.IOException as exc:
            if "lock" in str(exc).lower():
                raise Failure(
                    f"The warehouse {self.path} is locked by another process ({exc}). "
                    "Another run is writing it, or a tool holds it open: BI tools must "
                    "read the published segments.duckdb instead.",
                    allow_retries=False,
                ) from exc
            raise
        try:
            yield con
        finally:
            con.close()
