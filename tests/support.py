"""What several test modules share: the settings of a deployment under a temp folder."""

import datetime as dt
from contextlib import nullcontext
from pathlib import Path

from pipelines.settings import EnvSettings, from_env


def env_for(root: Path, **variables: str) -> EnvSettings:
    """The settings of a deployment whose data, exports and publish folders are under
    `root`, with other SEGMENTS_* variables as given (SEGMENTS_PROFILE="hubspot")."""
    return from_env(
        {
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
