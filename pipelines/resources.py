"""Resources: the deployment's settings, the night a run computes, and the warehouse."""

import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cached_property
from pathlib import Path

import duckdb
from dagster import ConfigurableResource, EnvVar, Failure
from pydantic import Field

from assets.config import RulesConfig, load_rules
from assets.vocabulary import RevenueSource
from pipelines.db import fetch_one
from pipelines.settings import (
    DEFAULT_MEMORY_LIMIT,
    POSTGRES_URL_VAR,
    PUBLISHED_FILE,
    EnvSettings,
)


class PipelineSettings(ConfigurableResource):
    """The deployment: where exports are read and tables published, which rules, contract
    and profiles apply. Built from the SEGMENTS_* environment variables when the
    definitions are built (`from_env`).

    Every field is required on purpose: Dagster replaces a resource's whole config when a
    run gives any of it, so a run that overrides one path must give them all, and a
    forgotten one is an error rather than a silent default. What changes per run lives
    in `NightSettings`.
    """

    exports_dir: str = Field(description="Landing folder of the night's export files.")
    publish_dir: str = Field(description=f"Folder BI tools read {PUBLISHED_FILE} from.")
    rules_path: str = Field(description="Business rules' config file (segmentation.yml).")
    contract_path: str = Field(description="Export contract (contract.yml).")
    profile_paths: list[str] = Field(
        description="Source-system profiles mapping native exports onto the contract "
        "(SEGMENTS_PROFILE), first listed wins; empty: the contract's own layout."
    )
    revenue_source: str = Field(
        description="Overrides revenue.source of the rules file (invoices | won_deals); "
        "empty: the file's."
    )
    reporting_currency: str = Field(
        description="Overrides revenue.reporting_currency of the rules file; empty: the file's."
    )
    keep_releases: int = Field(description="How many published releases to keep.")
    postgres_url: str = Field(
        description=f"PostgreSQL to publish to as well ({POSTGRES_URL_VAR}, given as that "
        "variable so the UI never shows the credentials); empty: DuckDB only."
    )
    postgres_schema: str = Field(description="PostgreSQL schema the release is swapped into.")
    postgres_readers: list[str] = Field(
        description="Roles granted USAGE and SELECT on each published PostgreSQL schema."
    )

    @classmethod
    def from_env(cls, env: EnvSettings) -> "PipelineSettings":
        return cls(
            exports_dir=str(env.effective_exports_dir),
            publish_dir=str(env.publish_dir),
            rules_path=str(env.rules_path),
            contract_path=str(env.contract_path),
            profile_paths=[str(p) for p in env.profile_paths],
            revenue_source=env.revenue_source or "",
            reporting_currency=env.reporting_currency or "",
            keep_releases=env.keep_releases,
            postgres_url=EnvVar(POSTGRES_URL_VAR) if env.postgres_url_set else "",
            postgres_schema=env.postgres_schema,
            postgres_readers=list(env.postgres_readers),
        )

    @property
    def published_path(self) -> Path:
        return Path(self.publish_dir) / PUBLISHED_FILE

    def rules(self) -> RulesConfig:
        """The rules of the run, read once: every step of a night applies the same
        rules even when the file is edited while it runs."""
        return self._rules

    @cached_property
    def _rules(self) -> RulesConfig:
        overrides = {
            "source": self.revenue_source or None,
            "reporting_currency": self.reporting_currency or None,
        }
        return load_rules(Path(self.rules_path), overrides)


class NightSettings(ConfigurableResource):
    """What a run may choose: the night (as_of) it computes, and whether it publishes
    through a drop of clients or revenue. Schedules and sensors set as_of per run
    (`resources: {night: {config: {as_of: "2011-12-09"}}}`); SEGMENTS_AS_OF and
    SEGMENTS_ACCEPT_DROP give the values of runs that set neither."""

    as_of: str | None = Field(
        default=None,
        description="The night computed, YYYY-MM-DD. Empty: the latest invoice date loaded "
        "(with revenue.source won_deals: the latest close date of a won deal).",
    )
    accept_drop: bool = Field(
        default=False,
        description="Publish even when clients or revenue dropped more than the config allows.",
    )

    @classmethod
    def from_env(cls, env: EnvSettings) -> "NightSettings":
        return cls(as_of=env.as_of, accept_drop=env.accept_drop)

    def resolve_as_of(self, con: duckdb.DuckDBPyConnection, rules: RulesConfig) -> dt.date:
        if self.as_of:
            try:
                return dt.date.fromisoformat(self.as_of)
            except ValueError as exc:
                raise Failure(
                    f"as_of {self.as_of!r} is not a date in format YYYY-MM-DD", allow_retries=False
                ) from exc
        if rules.revenue.source == RevenueSource.WON_DEALS:
            # The latest close date of a won deal (as int_deals_defaulted says won); only when
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

    path: str = Field(description="The warehouse DuckDB file (SEGMENTS_DATA_DIR/warehouse.duckdb).")
    memory_limit: str = Field(
        default=DEFAULT_MEMORY_LIMIT,
        description="DuckDB's memory_limit (SEGMENTS_MEMORY_LIMIT): a size or a share of the "
        "machine; dbt's connection gets the same.",
    )
    spill_dir: str = Field(
        default="",
        description="Where DuckDB spills past the limit; empty: duckdb_spill beside the file.",
    )

    @property
    def duckdb_settings(self) -> dict[str, str]:
        """The settings every connection of the night applies, dbt's included."""
        spill = self.spill_dir or str(Path(self.path).parent / "duckdb_spill")
        return {"memory_limit": self.memory_limit, "temp_directory": spill}

    def limit(self, con: duckdb.DuckDBPyConnection) -> duckdb.DuckDBPyConnection:
        """Apply the night's settings to `con`. SET rather than connect(config=): DuckDB
        refuses a second in-process connection to one file with another config."""
        settings = self.duckdb_settings
        con.execute(f"set memory_limit = '{settings['memory_limit']}'")
        # Once DuckDB has spilled, it refuses to switch the spill folder, even to itself.
        current = fetch_one(con, "select current_setting('temp_directory')")[0]
        if current != settings["temp_directory"]:
            con.execute(f"set temp_directory = '{settings['temp_directory']}'")
        return con

    @contextmanager
    def connect(self, read_only: bool = False) -> Iterator[duckdb.DuckDBPyConnection]:
        Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        try:
            con = self.limit(duckdb.connect(self.path, read_only=read_only))
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
