"""Shared fixtures: one end-to-end run of the real job, shared by every end-to-end test.

Settings are not read at import: the run's definitions are built from an `EnvSettings`
of the session's temp folder. SEGMENTS_* variables of the developer's shell are
dropped so that nothing a test starts (a CLI command, a subprocess) reads them.
"""

import datetime as dt
import os
import shutil
import tempfile
from pathlib import Path

import pytest
from support import env_for

for variable in [v for v in os.environ if v.startswith("SEGMENTS_")]:
    del os.environ[variable]

SESSION_DIR = Path(tempfile.mkdtemp(prefix="segments-tests-"))
SAMPLE_END_DATE = dt.date(2026, 10, 31)
SAMPLE_CLIENTS = 600


@pytest.fixture(scope="session")
def e2e_run():
    """Generate a small sample and run the whole nightly job once, in process."""
    from dagster import DagsterInstance

    from pipelines.definitions import nightly_job
    from sample_data.generate import SampleSpec, generate

    env = env_for(SESSION_DIR)
    generate(env.exports_dir, SampleSpec(clients=SAMPLE_CLIENTS, end_date=SAMPLE_END_DATE, seed=7))
    instance = DagsterInstance.ephemeral()
    job = nightly_job(env)
    result = job.execute_in_process(instance=instance, raise_on_error=False)
    assert result.success, [e.message for e in result.all_events if e.is_failure]
    return {
        "result": result,
        "instance": instance,
        "job": job,
        "env": env,
        "exports": env.exports_dir,
        "publish": env.published_path,
        "warehouse": env.warehouse_path,
    }


def pytest_sessionfinish(session, exitstatus):
    shutil.rmtree(SESSION_DIR, ignore_errors=True)


# What the reliability suites prove, counted and printed at the end of every run.
RELIABILITY_SUITES = {
    "messy-input fixtures": (
        "test_messy_input.py::test_rows_read_are_loaded_or_rejected",
        "test_messy_input.py::test_files_that_cannot_be_loaded",
    ),
    "fault scenarios": ("test_faults.py", "test_job_faults.py"),
    "publication guarantees": ("test_releases.py", "test_failed_gate_leaves_the_previous"),
    "security checks": ("test_security.py",),
}


def pytest_terminal_summary(terminalreporter):
    reports = [
        r
        for key in ("passed", "failed", "error")
        for r in terminalreporter.stats.get(key, [])
        if getattr(r, "when", "call") == "call"
    ]
    lines = []
    for label, prefixes in RELIABILITY_SUITES.items():
        mine = [r for r in reports if any(p in r.nodeid for p in prefixes)]
        if mine:
            passed = sum(r.passed for r in mine)
            lines.append(f"{label}: {passed} of {len(mine)} passed")
    if lines:
        terminalreporter.write_sep("-", "reliability")
        for line in lines:
            terminalreporter.write_line(line)
