"""Shared fixtures: one end-to-end run of the real job, shared by every end-to-end test,
and a private copy of it for a test that runs the job again (`e2e_copy`); and the
`fast` marker of `make test-fast` (FAST_FILES below).

Settings are not read at import: the run's definitions are built from an `EnvSettings`
of the session's temp folder. SEGMENTS_* variables of the developer's shell are
dropped so that nothing a test starts (a CLI command, a subprocess) reads them.
"""

import dataclasses
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

# `make test-fast` (`pytest -m fast`): the pure business-rule, loader and layout tests, no
# Dagster job, no dbt, no Great Expectations suite, about 20 s in all. A new test file of that
# kind joins by its name here (a file's own `pytestmark` is not enough: under `-m fast`
# the files not named here are not even collected, which saves importing Dagster).
FAST_FILES = (
    "test_bant.py",
    "test_config.py",
    "test_cross_sell_rules.py",
    "test_funnel_rules.py",
    "test_fx_precision.py",
    "test_layout.py",
    "test_loader.py",
    "test_messy_input.py",
    "test_profile_language.py",
    "test_realdata_maven.py",
    "test_retention_rules.py",
    "test_rules_growth_potential.py",
    "test_rules_retention_flags.py",
    "test_rules_vocabulary.py",
    "test_segment_rules.py",
    "test_titles.py",
)
# What a fast test may not use: each runs the whole nightly job.
SLOW_FIXTURES = {"e2e_run", "e2e_copy"}


def pytest_configure(config):
    config.addinivalue_line(
        "markers",
        "fast: a pure business-rule, loader or layout test (no Dagster job, no dbt), run by "
        "`make test-fast`; given to every test of a file in FAST_FILES of tests/conftest.py",
    )


def _fast_only(config) -> bool:
    return config.getoption("markexpr", "").strip() == "fast"


def pytest_ignore_collect(collection_path, config):
    name = collection_path.name
    if _fast_only(config) and name.startswith("test_") and name.endswith(".py"):
        return name not in FAST_FILES or None
    return None


@pytest.hookimpl(tryfirst=True)  # before `-m` deselects by marker
def pytest_collection_modifyitems(config, items):
    for item in items:
        if item.path.name in FAST_FILES:
            slow = SLOW_FIXTURES & set(getattr(item, "fixturenames", ()))
            if slow:
                raise pytest.UsageError(
                    f"{item.nodeid} is in FAST_FILES (tests/conftest.py) but uses "
                    f"{', '.join(sorted(slow))}, a run of the whole job: not a fast test"
                )
            item.add_marker(pytest.mark.fast)
        elif item.get_closest_marker("fast"):
            raise pytest.UsageError(
                f"{item.nodeid} is marked fast but its file is not in FAST_FILES of "
                "tests/conftest.py, so `make test-fast` would not collect it: add it there"
            )


@pytest.fixture(scope="session")
def e2e_run():
    """Generate a small sample and run the whole nightly job once, in process."""
    from dagster import DagsterInstance

    from pipelines.definitions import nightly_job
    from sample_data.generate import SampleSpec, generate

    env = env_for(SESSION_DIR, SEGMENTS_COLUMN_LINEAGE="1")  # the product's default
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


@pytest.fixture
def e2e_copy(e2e_run, tmp_path):
    """The shared run's exports, warehouse (data folder) and publish folder copied under
    `tmp_path`, with the settings, job and a fresh instance for the copy: a test that runs
    the job again, fails a gate or tampers with a table changes only its copy, so the
    shared run stays as the session made it whatever the order the tests run in."""
    from dagster import DagsterInstance

    from pipelines.definitions import nightly_job

    shared = e2e_run["env"]
    root = tmp_path / "e2e-copy"
    copies = {"exports_dir": root / "exports", "data_dir": root / "data"}
    copies["publish_dir"] = root / "publish"
    for field, target in copies.items():
        shutil.copytree(getattr(shared, field), target)
    env = dataclasses.replace(shared, **copies, column_lineage=False)  # as support.TEST_DEFAULTS
    with DagsterInstance.ephemeral() as instance:
        yield {
            "instance": instance,
            "job": nightly_job(env),
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
    "PostgreSQL publication": ("test_postgres.py",),
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
