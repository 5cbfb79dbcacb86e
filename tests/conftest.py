"""Shared fixtures. The SEGMENTS_* variables point at a session temp folder before any
pipeline module is imported (settings are read at import, as in production), and one
end-to-end run of the real job is shared by every end-to-end test."""

import datetime as dt
import os
import shutil
import tempfile
from pathlib import Path

import pytest

SESSION_DIR = Path(tempfile.mkdtemp(prefix="segments-tests-"))
os.environ.update(
    {
        "SEGMENTS_DATA_DIR": str(SESSION_DIR / "data"),
        "SEGMENTS_EXPORTS_DIR": str(SESSION_DIR / "exports"),
        "SEGMENTS_PUBLISH_DIR": str(SESSION_DIR / "publish"),
    }
)
os.environ.pop("SEGMENTS_AS_OF", None)
for variable in (
    "SEGMENTS_CONFIG",
    "SEGMENTS_PROFILE",
    "SEGMENTS_REVENUE_SOURCE",
    "SEGMENTS_REPORTING_CURRENCY",
    "SEGMENTS_CONTRACT",
):
    os.environ.pop(variable, None)

SAMPLE_END_DATE = dt.date(2026, 10, 31)
SAMPLE_CLIENTS = 600


@pytest.fixture(scope="session")
def e2e_run():
    """Generate a small sample and run the whole nightly job once, in process."""
    from dagster import DagsterInstance

    from pipelines.definitions import defs
    from sample_data.generate import SampleSpec, generate

    exports = Path(os.environ["SEGMENTS_EXPORTS_DIR"])
    generate(exports, SampleSpec(clients=SAMPLE_CLIENTS, end_date=SAMPLE_END_DATE, seed=7))
    instance = DagsterInstance.ephemeral()
    result = defs.resolve_job_def("nightly_segments").execute_in_process(
        instance=instance, raise_on_error=False
    )
    assert result.success, [e.message for e in result.all_events if e.is_failure]
    return {
        "result": result,
        "instance": instance,
        "exports": exports,
        "publish": Path(os.environ["SEGMENTS_PUBLISH_DIR"]) / "segments.duckdb",
        "warehouse": Path(os.environ["SEGMENTS_DATA_DIR"]) / "warehouse.duckdb",
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
