"""When the nightly job runs: a cron schedule, and a sensor on the landing folder."""

import datetime as dt
import hashlib
import json
from pathlib import Path

from dagster import (
    DagsterRunStatus,
    RunRequest,
    RunsFilter,
    ScheduleEvaluationContext,
    SensorDefinition,
    SensorEvaluationContext,
    SkipReason,
    schedule,
    sensor,
)

from pipelines.ingest.contract import SourceSpec, deployment_contract
from pipelines.ingest.loader import file_sha256, source_files
from pipelines.resources import PipelineSettings

READY_MARKER = "_READY"
ACTIVE = [
    DagsterRunStatus.QUEUED,
    DagsterRunStatus.NOT_STARTED,
    DagsterRunStatus.STARTING,
    DagsterRunStatus.STARTED,
]


def run_config_for(as_of: dt.date | None) -> dict:
    config = {"as_of": as_of.isoformat()} if as_of else {}
    return {"resources": {"night": {"config": config}}}


def build_nightly_schedule(job, cron: str, timezone: str):
    @schedule(
        job=job,
        cron_schedule=cron,
        execution_timezone=timezone,
        name="nightly_segments_schedule",
        description=f"Runs the nightly job at '{cron}' ({timezone}) for the night "
        "before: as_of is the day before the scheduled time.",
    )
    def nightly_segments_schedule(context: ScheduleEvaluationContext):
        night = context.scheduled_execution_time.date() - dt.timedelta(days=1)
        return RunRequest(
            run_key=night.isoformat(),
            run_config=run_config_for(night),
            tags={"as_of": night.isoformat()},
        )

    return nightly_segments_schedule


def landed_files(
    exports_dir: Path, contract: dict[str, SourceSpec], required: list[str]
) -> list[Path] | None:
    """The export files, once the set is complete: every required source has a file (by
    the profile's names or the contract's), or the exporter dropped a `_READY` marker.
    None while the set is still incomplete."""
    found = {
        name: [path for _, path in source_files(exports_dir, spec) if path]
        for name, spec in contract.items()
    }
    complete = all(found[name] for name in required)
    if (exports_dir / READY_MARKER).is_file() or complete:
        return sorted({p for paths in found.values() for p in paths})
    return None


def build_exports_sensor(job, settings: PipelineSettings) -> SensorDefinition:
    contract = deployment_contract(settings.contract_path, settings.profile_paths)
    # Which exports a night needs depends on the revenue source (won_deals: no billing).
    revenue = settings.rules().revenue
    required = [n for n, s in contract.items() if revenue.export_is_required(n, s.required_file)]

    @sensor(
        job=job,
        name="exports_landed_sensor",
        minimum_interval_seconds=60,
        description="Starts the nightly job when a complete new set of exports lands "
        f"in the landing folder (every required file: {', '.join(required)}; "
        f"or a {READY_MARKER} marker). Identical re-deliveries are no-ops.",
    )
    def exports_landed_sensor(context: SensorEvaluationContext):
        exports_dir = Path(settings.exports_dir)
        if not exports_dir.is_dir():
            return SkipReason(f"landing folder {exports_dir} does not exist")
        files = landed_files(exports_dir, contract, required)
        if files is None:
            return SkipReason(f"waiting for a complete set in {exports_dir}")
        stat_key = json.dumps([(p.name, p.stat().st_size, p.stat().st_mtime_ns) for p in files])
        if stat_key == context.cursor:
            return SkipReason("no new exports since the last check")
        active = context.instance.get_runs(RunsFilter(job_name=job.name, statuses=ACTIVE))
        if active:
            return SkipReason(f"run {active[0].run_id} is still writing the warehouse")
        # The run key is the content's hash, so re-delivered identical files start nothing.
        content = hashlib.sha256("".join(file_sha256(p) for p in files).encode()).hexdigest()
        context.update_cursor(stat_key)
        return RunRequest(
            run_key=content, run_config=run_config_for(None), tags={"exports_sha256": content[:16]}
        )

    return exports_landed_sensor
