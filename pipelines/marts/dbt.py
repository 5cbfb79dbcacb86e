"""dbt wiring: every dbt model an asset, every dbt test an asset check, one `dbt build`.

The translator names each asset [folder, model] and groups it by its dbt folder, so
the Dagster group, the dbt folder and the warehouse schema share one name.
"""

import json
import subprocess
import sys
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from functools import cached_property
from importlib.metadata import version as installed_version
from pathlib import Path
from typing import Any

from dagster import AssetExecutionContext, AssetKey, AssetsDefinition
from dagster_dbt import (
    DagsterDbtTranslator,
    DbtCliResource,
    DbtProject,
    dbt_assets,
)
from packaging.version import Version
from pydantic import Field

from assets.vocabulary import RevenueSource
from pipelines.marts import column_metadata, incremental
from pipelines.marts.models import Marts
from pipelines.resources import NightSettings, PipelineSettings, Warehouse
from pipelines.settings import DBT_PROJECT_DIR, OWNER

DBT_PROJECT = DbtProject(project_dir=DBT_PROJECT_DIR, profiles_dir=DBT_PROJECT_DIR)
# The dbt installed beside this Python, so an un-activated venv (make run, cron) works.
DBT_EXECUTABLE = str(Path(sys.executable).with_name("dbt"))
# Whether the dbt invocation being started needs dagster-dbt's in-process adapter
# (SegmentsDbtCliResource.without_in_process_adapter).
_IN_PROCESS_ADAPTER: ContextVar[bool] = ContextVar("segments_dbt_in_process_adapter", default=True)


def nightly_target(warehouse_path: str) -> Path:
    """Artifacts of the latest nightly `dbt build` (run_results.json, dbt.log), beside
    the warehouse it built: two deployments (or two test runs) on one machine never
    read each other's run results."""
    return Path(warehouse_path).with_suffix(".dbt_target")


def _newest_source_mtime(project_dir: Path) -> float:
    files = [project_dir / "dbt_project.yml", project_dir / "profiles.yml"]
    for folder in ("models", "macros", "tests", "snapshots", "seeds"):
        # Folders too: renaming or deleting a model keeps every file's mtime but not
        # its folder's.
        files += [project_dir / folder, *(project_dir / folder).rglob("*")]
    return max((p.stat().st_mtime for p in files if p.exists()), default=0.0)


def ensure_manifest(project: DbtProject = DBT_PROJECT) -> Path:
    """The install step (`make install`) parses the project; outside `dagster dev`
    nothing else prepares the manifest (FACTS: prepare_if_dev is a no-op). So when the
    definitions are built, parse again only when the manifest is missing or older than
    a file of the dbt project: an edited model never runs against a stale manifest."""
    manifest = project.manifest_path
    project_dir = Path(project.project_dir)
    if not manifest.exists() or manifest.stat().st_mtime < _newest_source_mtime(project_dir):
        subprocess.run(
            [
                DBT_EXECUTABLE,
                "parse",
                "--quiet",
                "--project-dir",
                str(project.project_dir),
                "--profiles-dir",
                str(project.profiles_dir),
            ],
            check=True,
            cwd=project.project_dir,
        )
    return project.manifest_path


class SegmentsDbtCliResource(DbtCliResource):
    """dbt-core is installed in this environment, so its version is read from the package
    metadata instead of from a `dbt --version` subprocess, which dagster-dbt starts on
    every invocation and which costs a whole dbt start-up (2-4 s) each night."""

    column_lineage: bool = Field(
        default=True,
        description="Attach each model's column schema and column lineage (sqlglot over the "
        "compiled SQL) to its materialization (SEGMENTS_COLUMN_LINEAGE); a fixed cost of "
        "seconds a night, whatever the data's size.",
    )

    full_refresh: bool = Field(
        default=False,
        description="Build every model in full each night (SEGMENTS_FULL_REFRESH), never "
        "incrementally from the night's changed invoice lines (docs/scale.md).",
    )

    @cached_property
    def _cli_version(self) -> Version:
        return Version(installed_version("dbt-core"))

    @contextmanager
    def without_in_process_adapter(self, skip: bool = True) -> Iterator[None]:
        """dagster-dbt opens dbt's adapter inside this process for every invocation
        (importing dbt-core and loading the project: 3 s a night), though only computing
        the column metadata reads through it. Within this block (when `skip`), `cli`
        starts the dbt process without it."""
        token = _IN_PROCESS_ADAPTER.set(not skip)
        try:
            yield
        finally:
            _IN_PROCESS_ADAPTER.reset(token)

    def _initialize_dbt_core_adapter(self, args):  # type: ignore[override]
        if not _IN_PROCESS_ADAPTER.get():
            return None
        return super()._initialize_dbt_core_adapter(args)


class SegmentsDbtTranslator(DagsterDbtTranslator):
    def get_asset_key(self, dbt_resource_props: Mapping[str, Any]) -> AssetKey:
        if dbt_resource_props["resource_type"] == "model":
            folder = dbt_resource_props["fqn"][1]
            return AssetKey([folder, dbt_resource_props["name"]])
        return super().get_asset_key(dbt_resource_props)

    def get_group_name(self, dbt_resource_props: Mapping[str, Any]) -> str | None:
        if dbt_resource_props["resource_type"] == "model":
            return dbt_resource_props["fqn"][1]
        return super().get_group_name(dbt_resource_props)

    def get_owners(self, dbt_resource_props: Mapping[str, Any]) -> list[str]:
        return [OWNER]


def _close_in_process_adapter(adapter) -> None:
    """dagster-dbt's in-process adapter (it reads the column metadata) keeps its DuckDB
    database open after the build, with a config of its own; the next step's connection
    to the warehouse would be refused ("different configuration"). Close it."""
    if adapter is None:
        return
    adapter.cleanup_connections()
    if adapter.type() == "duckdb":
        from dbt.adapters.duckdb.connections import DuckDBConnectionManager

        try:
            environment = DuckDBConnectionManager.env()
        except Exception:  # never opened: nothing to close
            return
        environment.close()
        DuckDBConnectionManager.close_all_connections()


def build_revenue_marts(manifest: Path) -> AssetsDefinition:
    """Every dbt model an asset, every dbt test a check, built in one `dbt build`."""

    @dbt_assets(
        manifest=manifest,
        project=DBT_PROJECT,
        dagster_dbt_translator=SegmentsDbtTranslator(),
        name="revenue_marts",
    )
    def revenue_marts(
        context: AssetExecutionContext,
        dbt: SegmentsDbtCliResource,
        settings: PipelineSettings,
        night: NightSettings,
        warehouse: Warehouse,
    ):
        """Staging, intermediate and mart models of the revenue marts, built in one
        `dbt build` (models, dbt tests and unit tests) for the run's as_of."""
        rules = settings.rules()
        with warehouse.connect(read_only=True) as con:
            as_of = night.resolve_as_of(con, rules)
            sources = column_metadata.source_columns(con, manifest)
            rule_vars = rules.dbt_vars(as_of)
            inputs = incremental.inputs_fingerprint(con, manifest, rule_vars)
            changed_lines, has_reset, consumed_until = incremental.pending_changes(con)
            state_file = nightly_target(warehouse.path) / incremental.STATE_FILE
            plan = incremental.plan_build(
                incremental.read_state(state_file),
                as_of,
                inputs,
                has_reset=has_reset,
                tracks_lines=rules.revenue.source == RevenueSource.INVOICES,
            )
        if dbt.full_refresh:
            plan = incremental.BuildPlan(None, "full build: SEGMENTS_FULL_REFRESH is set")
        context.log.info(
            f"dbt build for as_of {as_of}, {plan.reason} ({changed_lines:,} invoice lines "
            f"changed since), with vars {rule_vars}"
        )
        # profiles.yml takes the warehouse and DuckDB's memory settings from these vars:
        # dbt writes the file this run's resource names, with the limit of the night, and
        # nothing is passed through the process environment.
        dbt_vars = {**rule_vars, "warehouse_path": warehouse.path, **warehouse.duckdb_settings}
        # The dbt unit tests check the models' SQL against fixed inputs: they run in the
        # test suite (tests/test_end_to_end.py), as dbt advises, not again each night.
        args = ["build", "--exclude-resource-type", "unit_test"]
        if plan.incremental:
            dbt_vars["previous_as_of"] = plan.previous_as_of.isoformat()
        else:
            args.append("--full-refresh")
        # One target folder per warehouse (its runs never overlap), instead of dagster-dbt's
        # default of a new folder per run, which would pile up a copy of the artifacts a
        # night.
        target = nightly_target(warehouse.path)
        fingerprint = column_metadata.project_fingerprint(manifest, sources, rule_vars)
        stored = column_metadata.load(target / column_metadata.CACHE_FILE, fingerprint)
        # Only computing the column metadata reads through dagster-dbt's in-process adapter.
        with dbt.without_in_process_adapter(skip=not dbt.column_lineage or stored is not None):
            invocation = dbt.cli(
                [*args, "--vars", json.dumps(dbt_vars)], context=context, target_path=target
            )
        events = invocation.stream()
        if dbt.column_lineage:
            events = column_metadata.with_column_metadata(
                events, invocation, stored, fingerprint, context.log
            )
        try:
            yield from events
        finally:
            _close_in_process_adapter(invocation.adapter)
        # Only a build that succeeded (a failed one raised above) consumes the changes.
        with warehouse.connect() as con:
            incremental.record_build(
                con, state_file, incremental.BuildState(as_of, inputs), consumed_until
            )

    return revenue_marts


def project_marts() -> Marts:
    """The keys of the marts the Python steps read, from this project's manifest."""
    return Marts.from_dbt_assets(build_revenue_marts(ensure_manifest()))
