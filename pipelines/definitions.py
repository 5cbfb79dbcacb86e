"""The one Dagster entry point (workspace.yaml): assets, checks, job, schedule, sensor.

Nothing runs at import: `build_definitions` makes the definitions from one
`EnvSettings`, and Dagster calls `defs` when it loads the code location. A test
builds definitions with its own settings, in its own process or in the test's.
"""

from dagster import (
    AssetSelection,
    Definitions,
    JobDefinition,
    define_asset_job,
    definitions,
    in_process_executor,
)

from pipelines.ingest.assets import build_ingest_assets
from pipelines.ingest.contract import deployment_contract
from pipelines.ingest.crm_history import crm_history
from pipelines.marts.dbt import (
    DBT_EXECUTABLE,
    DBT_PROJECT,
    SegmentsDbtCliResource,
    build_revenue_marts,
    ensure_manifest,
)
from pipelines.marts.models import Marts
from pipelines.orchestration import build_exports_sensor, build_nightly_schedule
from pipelines.publish.release import build_release_asset
from pipelines.quality.freshness import build_source_freshness_checks
from pipelines.quality.gates import audit_log, build_quality_gates
from pipelines.resources import NightSettings, PipelineSettings, Warehouse
from pipelines.rules.cross_sell import build_cross_sell_assets
from pipelines.rules.funnel import build_funnel_assets
from pipelines.rules.leads import build_lead_assets
from pipelines.rules.retention import build_retention_assets
from pipelines.rules.segmentation import build_segmentation_assets
from pipelines.settings import PUBLISHED_FILE, EnvSettings, from_env

NIGHTLY_JOB = "nightly_segments"
# One job writes the warehouse; the tag lets the instance's run queue keep such runs
# from overlapping (dagster.yaml), and the in-process executor avoids one Python start
# per step (FACTS: 135-148 s multiprocess vs about 44 s in process).
WAREHOUSE_TAG = {"segments/warehouse": "write"}


def _nightly_job():
    return define_asset_job(
        name=NIGHTLY_JOB,
        selection=AssetSelection.all(),
        description="Ingest the night's exports, keep the CRM snapshot, build the revenue "
        "marts, segment clients, flag retention risks, rank leads, run the quality gates "
        f"and publish {PUBLISHED_FILE}.",
        tags=WAREHOUSE_TAG,
        executor_def=in_process_executor,
    )


def build_definitions(env: EnvSettings) -> Definitions:
    """Every definition of the project, configured by `env` alone. Reads the contract
    and its profiles (a wrong profile fails here, naming the key) and the dbt manifest."""
    settings = PipelineSettings.from_env(env)
    nightly_job = _nightly_job()
    contract = deployment_contract(settings.contract_path, settings.profile_paths)
    manifest = ensure_manifest()
    revenue_marts = build_revenue_marts(manifest)
    marts = Marts.from_dbt_assets(revenue_marts)
    return Definitions(
        assets=[
            *build_ingest_assets(contract),
            crm_history,
            revenue_marts,
            *build_segmentation_assets(marts),
            *build_retention_assets(marts),
            *build_lead_assets(marts),
            *build_cross_sell_assets(marts),
            *build_funnel_assets(marts),
            audit_log,
            build_release_asset(marts, env.release_max_age_hours),
        ],
        asset_checks=[*build_quality_gates(marts), *build_source_freshness_checks(manifest)],
        jobs=[nightly_job],
        schedules=[build_nightly_schedule(nightly_job, env.schedule_cron, env.schedule_timezone)],
        sensors=[build_exports_sensor(nightly_job, settings)],
        resources={
            "settings": settings,
            "night": NightSettings.from_env(env),
            "warehouse": Warehouse(
                path=str(env.warehouse_path),
                memory_limit=env.memory_limit,
                spill_dir=str(env.spill_dir),
            ),
            "dbt": SegmentsDbtCliResource(
                project_dir=str(DBT_PROJECT.project_dir),
                profiles_dir=str(DBT_PROJECT.profiles_dir),
                dbt_executable=DBT_EXECUTABLE,
                column_lineage=env.column_lineage,
                full_refresh=env.full_refresh,
            ),
        },
        executor=in_process_executor,
    )


def nightly_job(env: EnvSettings) -> JobDefinition:
    """The nightly job, resolved with `env`'s resources, ready to execute in process."""
    return build_definitions(env).resolve_job_def(NIGHTLY_JOB)


@definitions
def defs() -> Definitions:
    """What Dagster (the UI, the daemon) loads: the definitions the environment gives."""
    return build_definitions(from_env())
