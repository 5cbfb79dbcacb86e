"""What several test modules share: the settings of a deployment under a temp folder,
and one night of the real job on a landing folder, run in this process."""

from __future__ import annotations

import datetime as dt
import io
import logging
import os
from contextlib import nullcontext, redirect_stdout
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from unittest import mock

from pipelines.settings import EnvSettings, from_env

# What every test night runs with unless it says otherwise: dbt's column lineage (sqlglot
# over every model, 15-30 s a night whatever the data's size) is left to the shared night
# of conftest.e2e_run, which runs with the product's default and whose tests read it.
TEST_DEFAULTS = {"SEGMENTS_COLUMN_LINEAGE": "0"}


def env_for(root: Path, **variables: str) -> EnvSettings:
    """The settings of a deployment whose data, exports and publish folders are under
    `root`, with other SEGMENTS_* variables as given (SEGMENTS_PROFILE="hubspot")."""
    return from_env(
        {
            **TEST_DEFAULTS,
            "SEGMENTS_DATA_DIR": str(root / "data"),
            "SEGMENTS_EXPORTS_DIR": str(root / "exports"),
            "SEGMENTS_PUBLISH_DIR": str(root / "publish"),
            **variables,
        }
    )


def run_nightly(env: EnvSettings, as_of: dt.date | None = None, instance=None, **kwargs):
    """Run the nightly job of `env`'s definitions in this process (an ephemeral
    instance unless one is given); `kwargs` go to execute_in_process."""
    from dagster import DagsterInstance

    from pipelines.definitions import nightly_job
    from pipelines.orchestration import run_config_for

    with DagsterInstance.ephemeral() if instance is None else nullcontext(instance) as used:
        return nightly_job(env).execute_in_process(
            run_config=run_config_for(as_of), instance=used, raise_on_error=False, **kwargs
        )


@dataclass
class Night:
    """What a test reads of one night: did it succeed, what failed, what the run log
    warned, the summary `segments run` prints, and where it wrote."""

    env: EnvSettings
    success: bool
    failures: list[str]
    warnings: list[str]
    summary: str = ""  # from "Published <path>" on
    stdout: str = ""  # everything printed (dbt's output too)
    exit_code: int | None = None  # through the CLI only
    result: Any = field(default=None, repr=False)  # ExecuteInProcessResult, not via the CLI

    @property
    def published(self) -> Path:
        return self.env.published_path

    @property
    def warehouse(self) -> Path:
        return self.env.warehouse_path

    def explain(self) -> str:
        """For an assertion message: why the night failed."""
        return "\n".join([*self.failures, *self.warnings, self.stdout])[-6000:]


def _summary(printed: str) -> str:
    """The summary `segments run` prints last, from its "Published <path>" line."""
    start = printed.rfind("\nPublished ")
    return printed[start:] if start >= 0 else ""


def night_variables(
    root: Path,
    exports: Path,
    profile: str | None = None,
    revenue_source: str | None = None,
    reporting_currency: str | None = None,
    as_of: dt.date | None = None,
    **variables: str,
) -> dict[str, str]:
    """The SEGMENTS_* variables of a deployment under `root` reading `exports`."""
    named = {
        "SEGMENTS_EXPORTS_DIR": str(exports),
        "SEGMENTS_DATA_DIR": str(root / "data"),
        "SEGMENTS_PUBLISH_DIR": str(root / "publish"),
        "SEGMENTS_PROFILE": profile,
        "SEGMENTS_REVENUE_SOURCE": revenue_source,
        "SEGMENTS_REPORTING_CURRENCY": reporting_currency,
        "SEGMENTS_AS_OF": as_of.isoformat() if as_of else None,
    }
    return {k: v for k, v in {**TEST_DEFAULTS, **named, **variables}.items() if v is not None}


def _failures(result) -> list[str]:
    """What the failed steps and checks said (what `segments run` logs on failure)."""
    texts = []
    for event in result.all_events:
        if event.is_failure:
            error = getattr(event.event_specific_data, "error", None)
            texts.append(f"{event.step_key}: {error.message.strip() if error else event.message}")
    for evaluation in result.get_asset_check_evaluations():
        if not evaluation.passed:
            texts.append(f"check {evaluation.check_name} failed: {evaluation.description or ''}")
    return texts


def _warnings(instance, run_id: str) -> list[str]:
    return [
        entry.user_message
        for entry in instance.all_logs(run_id)
        if entry.level >= logging.WARNING and entry.user_message
    ]


def run_exports(
    root: Path,
    exports: Path,
    *,
    profile: str | None = None,
    revenue_source: str | None = None,
    reporting_currency: str | None = None,
    as_of: dt.date | None = None,
    via_cli: bool = False,
    **variables: str,
) -> Night:
    """One night of the real job on the landing folder `exports`, in this process, for a
    deployment under `root` (data/, publish/) with a profile ("salesforce"), a revenue
    source and a reporting currency (None: the rules file's), as SEGMENTS_* would set them.

    By default the job runs on an ephemeral instance and then the summary `segments run`
    prints is printed from the publication (so it must be readable, as the CLI's exit 0
    needs). `via_cli=True` runs `segments run` itself (`pipelines.cli.main`) with these
    variables, a Dagster home under `root` and stdout captured: the exit code, the
    printed summary and the persistent instance's run log."""
    from dagster import DagsterInstance

    from pipelines import cli

    values = night_variables(
        root, exports, profile, revenue_source, reporting_currency, as_of, **variables
    )
    env = from_env(values)
    if via_cli:
        # Only these variables: none of the shell's SEGMENTS_* or DAGSTER_HOME, restored
        # afterwards (the CLI sets DAGSTER_HOME).
        environ = {
            k: v for k, v in os.environ.items() if not k.startswith(("SEGMENTS_", "DAGSTER_"))
        }
        environ.update(values, DAGSTER_HOME=str(root / "dagster_home"))
        printed = io.StringIO()
        with mock.patch.dict(os.environ, environ, clear=True):
            with redirect_stdout(printed):
                code = cli.main(["run"])
            with DagsterInstance.get() as instance:
                (run,) = instance.get_runs(limit=1)
                warnings = _warnings(instance, run.run_id)
                failures = [
                    e.message
                    for e in instance.all_logs(run.run_id)
                    if e.dagster_event is not None and e.dagster_event.is_failure
                ]
        output = printed.getvalue()
        return Night(env, code == 0, failures, warnings, _summary(output), output, code)
    with DagsterInstance.ephemeral() as instance:
        result = run_nightly(env, as_of=as_of, instance=instance)
        warnings = _warnings(instance, result.run_id)
    printed = io.StringIO()
    if result.success:
        with redirect_stdout(printed):
            cli.print_summary(env)
    output = printed.getvalue()
    return Night(
        env, result.success, _failures(result), warnings, _summary(output), output, result=result
    )
