"""Faults of the whole job: a failing dbt model and a run killed in the middle of the
build. Neither may publish anything; the next good run must succeed."""

import datetime as dt
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from support import TEST_DEFAULTS, env_for, run_nightly

AS_OF = dt.date(2026, 10, 31)


@pytest.fixture(scope="module")
def landing(tmp_path_factory):
    from sample_data.generate import SampleSpec, generate

    root = tmp_path_factory.mktemp("job-faults")
    generate(root / "exports", SampleSpec(clients=200, end_date=AS_OF, seed=5))
    return root


def execute(root: Path):
    return run_nightly(env_for(root), as_of=AS_OF)


def test_a_failing_dbt_test_stops_everything_downstream_and_publishes_nothing(landing):
    assert execute(landing).success
    published = landing / "publish" / "segments.duckdb"
    before = published.read_bytes()

    # A second rate for a day, under a lower-case currency code: distinct keys for the
    # ingest, one (day, currency) twice after staging upper-cases it. The dbt test on
    # int_fx_rates_daily must stop the build before any line is converted twice.
    path = landing / "exports" / "fx_rates.csv"
    rates = path.read_text().splitlines()
    day, currency, rate = rates[1].split(",")
    path.write_text("\n".join([*rates, f"{day},{currency.lower()},{float(rate) * 2}"]) + "\n")
    try:
        result = execute(landing)
    finally:
        path.write_text("\n".join(rates) + "\n")

    assert not result.success
    failed = {e.step_key for e in result.all_events if e.event_type_value == "STEP_FAILURE"}
    assert failed == {"revenue_marts"}
    ran = {e.step_key for e in result.all_events if e.event_type_value == "STEP_SUCCESS"}
    for step in (
        "segmentation__client_profiles",
        "retention__retention_risks",
        "leads__lead_rankings",
        "publish__segments_release",
    ):
        assert step not in ran
    assert published.read_bytes() == before


@pytest.mark.parametrize(
    "moment",
    [
        'Started execution of step "raw__invoice_lines"',  # while ingesting
        "Running dbt command",  # while dbt builds the marts
    ],
)
def test_a_run_killed_during_the_build_publishes_nothing_and_the_next_run_succeeds(landing, moment):
    published = landing / "publish" / "segments.duckdb"
    if not published.exists():
        assert execute(landing).success
    before = published.read_bytes()
    env = {
        **os.environ,
        **TEST_DEFAULTS,
        "SEGMENTS_EXPORTS_DIR": str(landing / "exports"),
        "SEGMENTS_DATA_DIR": str(landing / "data"),
        "SEGMENTS_PUBLISH_DIR": str(landing / "publish"),
        "SEGMENTS_AS_OF": AS_OF.isoformat(),
    }
    command = [str(Path(sys.executable).with_name("segments")), "run"]
    process = subprocess.Popen(
        command,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    deadline = time.monotonic() + 120
    for line in process.stdout:
        if moment in line or time.monotonic() > deadline:
            break
    time.sleep(0.5)  # well inside that step
    os.killpg(process.pid, signal.SIGKILL)
    process.wait(timeout=30)
    assert process.returncode == -signal.SIGKILL
    assert published.read_bytes() == before

    again = subprocess.run(command, env=env, capture_output=True, text=True, timeout=300)
    assert again.returncode == 0, again.stdout[-3000:]
    assert published.read_bytes() != before
    assert "Published" in again.stdout
