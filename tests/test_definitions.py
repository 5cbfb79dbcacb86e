"""The Dagster definitions explain themselves and keep the lineage unbroken."""

import datetime as dt
from pathlib import Path

import pytest
import yaml
from dagster import (
    AssetKey,
    DagsterInstance,
    RunRequest,
    build_schedule_context,
    build_sensor_context,
)
from support import env_for

from pipelines.definitions import build_definitions
from pipelines.ingest.contract import load_contract
from pipelines.orchestration import build_exports_sensor
from pipelines.resources import NightSettings, PipelineSettings
from pipelines.settings import DBT_PROJECT_DIR, REPO_ROOT, from_env

CONTRACT = load_contract(REPO_ROOT / "config" / "contract.yml")
DEFS = build_definitions(env_for(Path("/nonexistent")))
GRAPH = DEFS.resolve_asset_graph()


def test_every_expected_asset_is_defined():
    keys = GRAPH.get_all_asset_keys()
    expected = {AssetKey(["raw", name]) for name in CONTRACT} | {
        AssetKey(["marts", "dim_clients"]),
        AssetKey(["marts", "fct_invoice_lines"]),
        AssetKey(["marts", "fct_client_revenue_monthly"]),
        AssetKey(["marts", "fct_portfolio_concentration"]),
        AssetKey(["segmentation", "client_profiles"]),
        AssetKey(["segmentation", "client_segments"]),
        AssetKey(["segmentation", "segment_mix"]),
        AssetKey(["sales", "cross_sell"]),
        AssetKey(["sales", "sales_funnel"]),
        AssetKey(["sales", "sales_funnel_stages"]),
        AssetKey(["publish", "segments_release"]),
    }
    assert expected <= keys
    models = {p.stem for p in (DBT_PROJECT_DIR / "models").rglob("*.sql")}
    assert models == {k.path[-1] for k in keys if k.path[0] in ("staging", "intermediate", "marts")}


def test_every_asset_has_a_description_owner_group_and_kinds():
    for key in GRAPH.get_all_asset_keys():
        node = GRAPH.get(key)
        assert node.description and len(node.description) > 20, key
        assert node.owners, key
        assert node.group_name and node.group_name != "default", key
        assert node.kinds, key


def test_groups_follow_the_flow():
    groups = {GRAPH.get(k).group_name for k in GRAPH.get_all_asset_keys()}
    assert groups == {
        "ingest",
        "history",
        "staging",
        "intermediate",
        "marts",
        "segmentation",
        "retention",
        "leads",
        "sales",
        "quality",
        "publish",
    }


def test_every_table_one_step_writes_and_another_reads_is_in_the_lineage():
    def parents(*path):
        return GRAPH.get(AssetKey(list(path))).parent_keys

    assert AssetKey(["retention", "client_risk"]) in parents("segmentation", "client_segments")
    assert AssetKey(["sales", "cross_sell"]) in parents("segmentation", "client_segments")
    assert AssetKey(["history", "crm_deals"]) in parents("staging", "stg_history__crm_deals")
    assert {AssetKey(["raw", name]) for name in CONTRACT} <= parents("raw", "load_report")
    assert {AssetKey(["raw", name]) for name in CONTRACT} <= parents("raw", "rejects")
    release = parents("publish", "segments_release")
    assert {AssetKey(["marts", "fct_source_loads"]), AssetKey(["audit", "audit_log"])} <= release
    assert AssetKey(["raw", "load_report"]) in parents("staging", "stg_ingest__load_report")
    assert set(GATES.values()) <= parents("audit", "audit_log")
    # The segment history is written by publication, in the same step as the release.
    release_step = DEFS.resolve_assets_def(AssetKey(["publish", "segments_release"]))
    assert AssetKey(["history", "client_segments"]) in release_step.keys


def test_every_warehouse_table_is_an_asset(e2e_run):
    """What the night leaves in the warehouse is all in the lineage: no table that one
    step writes and another reads hides outside it."""
    import duckdb

    with duckdb.connect(str(e2e_run["warehouse"]), read_only=True) as con:
        tables = con.sql(
            "select table_schema, table_name from information_schema.tables "
            "where table_catalog = current_database()"
        ).fetchall()
    keys = GRAPH.get_all_asset_keys()
    assert tables
    assert [t for t in tables if AssetKey(list(t)) not in keys] == []


def test_dbt_sources_map_onto_the_ingest_assets():
    files = sorted((DBT_PROJECT_DIR / "models" / "staging").glob("*/_*__sources.yml"))
    sources = [s for f in files for s in yaml.safe_load(f.read_text())["sources"]]
    tables = {
        t["name"] for s in sources if s["name"] not in ("history", "ingest") for t in s["tables"]
    }
    # Beside the exports, the ingest's change log of invoice lines (docs/scale.md).
    assert tables == set(CONTRACT) | {"invoice_lines_changes"}
    changes = AssetKey(["staging", "stg_billing__invoice_line_changes"])
    assert GRAPH.get(changes).parent_keys == {AssetKey(["raw", "invoice_lines_changes"])}
    for name in CONTRACT:
        system = CONTRACT[name].system
        staging = AssetKey(["staging", f"stg_{system}__{name}"])
        assert AssetKey(["raw", name]) in GRAPH.get(staging).parent_keys


GATES = {
    "client_segments_quality_gate": AssetKey(["segmentation", "client_segments"]),
    "retention_risks_quality_gate": AssetKey(["retention", "retention_risks"]),
    "lead_rankings_quality_gate": AssetKey(["leads", "lead_rankings"]),
    "cross_sell_quality_gate": AssetKey(["sales", "cross_sell"]),
    "sales_funnel_quality_gate": AssetKey(["sales", "sales_funnel"]),
    "sales_funnel_stages_quality_gate": AssetKey(["sales", "sales_funnel_stages"]),
}


def test_publication_depends_on_every_gated_table():
    publish = GRAPH.get(AssetKey(["publish", "segments_release"]))
    assert set(GATES.values()) <= publish.parent_keys


@pytest.mark.parametrize("gate_name", sorted(GATES))
def test_each_quality_gate_is_blocking_on_its_table(gate_name):
    checks = {k.name: k for k in GRAPH.asset_check_keys}
    gate = checks[gate_name]
    assert gate.asset_key == GATES[gate_name]
    specs = {spec.key: spec for checks_def in DEFS.asset_checks for spec in checks_def.check_specs}
    assert specs[gate].blocking


def test_the_crm_history_feeds_the_retention_signals():
    signals = GRAPH.get(AssetKey(["marts", "fct_client_retention_signals"]))
    assert AssetKey(["history", "crm_accounts"]) in GRAPH.get(
        AssetKey(["marts", "fct_client_retention_signals"])
    ).parent_keys or any(
        AssetKey(["history", "crm_accounts"]) in GRAPH.get(k).parent_keys
        for k in signals.parent_keys
    )


def test_dbt_tests_surface_as_asset_checks():
    names = {k.name for k in GRAPH.asset_check_keys}
    assert any(n.startswith("unique_dim_clients_account_id") for n in names)
    assert any(n.startswith("accepted_values_dim_clients_abc_class") for n in names)


def test_the_nightly_job_runs_in_process_and_is_tagged_as_a_warehouse_writer():
    job = DEFS.resolve_job_def("nightly_segments")
    assert job.executor_def.name == "in_process"
    assert job.tags.get("segments/warehouse") == "write"
    config = yaml.safe_load((REPO_ROOT / "dagster.yaml").read_text())
    assert {"key": "segments/warehouse", "limit": 1} in config["run_queue"][
        "tag_concurrency_limits"
    ]


def test_the_schedule_computes_the_night_before_at_two_in_moscow():
    schedule = DEFS.resolve_schedule_def("nightly_segments_schedule")
    assert schedule.cron_schedule == "0 2 * * *"
    assert schedule.execution_timezone == "Europe/Moscow"
    context = build_schedule_context(scheduled_execution_time=dt.datetime(2026, 11, 23, 2, 0))
    request = schedule.evaluate_tick(context).run_requests[0]
    assert request.run_config["resources"]["night"]["config"]["as_of"] == "2026-11-22"


@pytest.fixture
def landing(tmp_path) -> Path:
    (tmp_path / "exports").mkdir()
    return tmp_path / "exports"


def settings_for(landing: Path) -> PipelineSettings:
    return PipelineSettings.from_env(env_for(landing.parent))


def _evaluate(sensor, landing: Path, cursor: str | None = None):
    with DagsterInstance.ephemeral() as instance:
        context = build_sensor_context(instance=instance, cursor=cursor)
        result = sensor.evaluate_tick(context)
        return result, context.cursor


def test_sensor_waits_for_a_complete_set_and_keys_runs_by_content(landing):
    job = DEFS.resolve_job_def("nightly_segments")
    sensor = build_exports_sensor(job, settings_for(landing))
    (landing / "accounts.csv").write_text("account_id,name\nC1,a\n")
    result, _ = _evaluate(sensor, landing)
    assert not result.run_requests and "waiting" in result.skip_message

    (landing / "invoice_lines.csv").write_text("invoice_id\n")
    result, cursor = _evaluate(sensor, landing)
    assert len(result.run_requests) == 1
    first_key = result.run_requests[0].run_key

    result, _ = _evaluate(sensor, landing, cursor)
    assert not result.run_requests  # nothing new since the last tick

    (landing / "invoice_lines.csv").write_text("invoice_id\n")  # same content, new mtime
    result, _ = _evaluate(sensor, landing, cursor)
    assert result.run_requests[0].run_key == first_key  # Dagster runs a key only once


def test_sensor_accepts_a_ready_marker_for_partial_sets(landing):
    job = DEFS.resolve_job_def("nightly_segments")
    sensor = build_exports_sensor(job, settings_for(landing))
    (landing / "accounts.csv").write_text("account_id,name\n")
    (landing / "_READY").write_text("")
    result, _ = _evaluate(sensor, landing)
    assert isinstance(result.run_requests[0], RunRequest)


def test_settings_validate_as_of():
    from dagster import Failure

    with pytest.raises(Failure, match="not a date in format YYYY-MM-DD"):
        NightSettings(as_of="31.10.2026").resolve_as_of(None, None)
    assert NightSettings(as_of="2011-12-09").resolve_as_of(None, None) == dt.date(2011, 12, 9)


def test_a_run_reads_its_rules_once(tmp_path):
    """Each run gets its own settings resource (Dagster builds one per run), which
    reads the rules file once: a file edited during a night changes the next one only."""
    rules_file = tmp_path / "segmentation.yml"
    rules_file.write_text((REPO_ROOT / "config" / "segmentation.yml").read_text())
    env = env_for(tmp_path, SEGMENTS_CONFIG=str(rules_file))
    tonight = PipelineSettings.from_env(env)
    window = tonight.rules().revenue.window_months
    rules_file.write_text(rules_file.read_text().replace(
        f"window_months: {window}", f"window_months: {window + 1}"
    ))  # fmt: skip
    assert tonight.rules().revenue.window_months == window
    assert PipelineSettings.from_env(env).rules().revenue.window_months == window + 1


def test_a_run_that_overrides_one_deployment_setting_must_give_them_all(tmp_path):
    """Dagster replaces a resource's whole config when a run gives part of it; the
    deployment's fields are all required, so a partial override is refused instead of
    silently running with defaults (a lost profile, another rules file)."""
    from dagster import DagsterInvalidConfigError

    job = DEFS.resolve_job_def("nightly_segments")
    partial = {"resources": {"settings": {"config": {"exports_dir": str(tmp_path)}}}}
    with pytest.raises(DagsterInvalidConfigError, match="Missing required config entries"):
        job.execute_in_process(run_config=partial, instance=DagsterInstance.ephemeral())


def test_definitions_take_their_settings_from_the_argument_not_the_environment(
    tmp_path, monkeypatch
):
    monkeypatch.setenv("SEGMENTS_PROFILE", "salesforce")
    defs = build_definitions(env_for(tmp_path, SEGMENTS_PROFILE="hubspot"))
    settings = defs.resources["settings"]
    assert [Path(p).name for p in settings.profile_paths] == ["hubspot.yml"]
    assert settings.exports_dir == str(tmp_path / "exports")
    accounts = defs.resolve_asset_graph().get(AssetKey(["raw", "accounts"]))
    assert "companies" in accounts.description.lower()


def test_the_code_location_loads_as_dagster_loads_it():
    """workspace.yaml names `defs`, built lazily (@definitions): the UI and the daemon
    load it the way this command does."""
    import subprocess
    import sys

    dagster = Path(sys.executable).with_name("dagster")
    done = subprocess.run(
        [str(dagster), "definitions", "validate", "-w", "workspace.yaml"],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert "Validation successful for code location pipelines.definitions:defs" in (
        done.stdout + done.stderr
    )


def test_every_warehouse_table_shows_its_columns_with_descriptions(e2e_run):
    """The UI's column schema of each asset is the table the night wrote, column for
    column, and every column says what it is (dbt's from schema.yml, the Python steps'
    from pipelines/columns.yml, the raw exports' from the contract)."""
    import duckdb

    with duckdb.connect(str(e2e_run["warehouse"]), read_only=True) as con:
        columns = con.sql(
            "select table_schema, table_name, list(column_name order by ordinal_position) "
            "from information_schema.columns where table_catalog = current_database() "
            "group by all"
        ).fetchall()
    undescribed = []
    for schema, table, names in columns:
        node = GRAPH.get(AssetKey([schema, table]))
        declared = node.metadata.get("dagster/column_schema")
        assert declared is not None, f"{schema}.{table} has no column schema"
        assert [c.name for c in declared.columns] == names, f"{schema}.{table}"
        undescribed += [
            f"{schema}.{table}.{c.name}" for c in declared.columns if not (c.description or "")
        ]
    assert undescribed == []


def test_column_lineage_names_columns_that_exist_upstream(e2e_run):
    """Every column a Python step's lineage names exists in the asset it names."""
    import duckdb

    from pipelines.catalog import column_lineage, python_tables

    with duckdb.connect(str(e2e_run["warehouse"]), read_only=True) as con:
        existing = {
            (s, t, c)
            for s, t, c in con.sql(
                "select table_schema, table_name, column_name from information_schema.columns"
            ).fetchall()
        }
    for table in python_tables():
        if table.startswith("publish."):
            continue
        for column, deps in column_lineage(table).deps_by_column.items():
            for dep in deps:
                assert (*dep.asset_key.path, dep.column_name) in existing, (table, column, dep)


def test_the_release_is_stale_after_the_configured_hours():
    """A freshness policy on the published release: failed when the last good publication
    is older than SEGMENTS_RELEASE_MAX_AGE_HOURS (26 by default)."""
    import dataclasses
    import datetime as dt

    release = AssetKey(["publish", "segments_release"])
    policy = GRAPH.get(release).freshness_policy
    assert policy.fail_window.to_timedelta() == dt.timedelta(hours=26)
    env = dataclasses.replace(env_for(Path("/nonexistent")), release_max_age_hours=50)
    graph = build_definitions(env).resolve_asset_graph()
    assert graph.get(release).freshness_policy.fail_window.to_timedelta() == dt.timedelta(hours=50)
    assert from_env({"SEGMENTS_RELEASE_MAX_AGE_HOURS": "30"}).release_max_age_hours == 30


def test_column_lineage_runs_from_the_exports_through_dbt_to_the_python_tables(e2e_run):
    """dagster-dbt's column lineage for the dbt models (sqlglot over the compiled SQL), the
    Python steps' declared one: an export's column can be followed to client_segments."""
    instance = e2e_run["instance"]

    def lineage(*path) -> dict[str, set[tuple[str, str]]]:
        event = instance.get_latest_materialization_event(AssetKey(list(path)))
        value = event.asset_materialization.metadata["dagster/column_lineage"].value
        return {
            column: {(d.asset_key.to_user_string(), d.column_name) for d in deps}
            for column, deps in value.deps_by_column.items()
        }

    assert ("raw/accounts", "name") in lineage("staging", "stg_crm__accounts")["account_name"]
    assert ("staging/stg_crm__accounts", "account_name") in lineage("marts", "dim_clients")[
        "account_name"
    ]
    segments = lineage("segmentation", "client_segments")
    assert ("marts/dim_clients", "account_name") in segments["account_name"]
    assert ("segmentation/client_profiles", "segment") in segments["segment"]


def test_without_column_lineage_the_models_carry_none(tmp_path):
    """SEGMENTS_COLUMN_LINEAGE=0 (what most test nights use) reaches the dbt resource."""
    assert from_env({}).column_lineage
    env = env_for(tmp_path, SEGMENTS_COLUMN_LINEAGE="0")
    assert not build_definitions(env).resources["dbt"].column_lineage


def test_every_duckdb_connection_of_the_night_has_the_memory_limit(e2e_run):
    """SEGMENTS_MEMORY_LIMIT and the spill folder reach dbt (as vars of its profile) and
    every Python step's warehouse connection."""
    import json

    from pipelines.marts.dbt import nightly_target
    from pipelines.resources import Warehouse

    env = e2e_run["env"]
    run = json.loads((nightly_target(str(env.warehouse_path)) / "run_results.json").read_text())
    assert run["args"]["vars"]["memory_limit"] == env.memory_limit == "50%"
    assert run["args"]["vars"]["temp_directory"] == str(env.data_dir / "duckdb_spill")
    warehouse = Warehouse(path=str(env.warehouse_path), memory_limit="1GB", spill_dir="/tmp/x")
    with warehouse.connect(read_only=True) as con:
        limit, spill = con.sql(
            "select current_setting('memory_limit'), current_setting('temp_directory')"
        ).fetchall()[0]
    assert (limit, spill) == ("953.6 MiB", "/tmp/x")  # DuckDB shows 1GB (10^9 bytes) in MiB


@pytest.mark.parametrize("value", ["8", "lots", "8 GHz", "-1GB"])
def test_a_memory_limit_that_is_no_size_is_refused_naming_the_variable(value):
    from pipelines.settings import SettingsError

    with pytest.raises(SettingsError, match="SEGMENTS_MEMORY_LIMIT=.*such as 8GB"):
        from_env({"SEGMENTS_MEMORY_LIMIT": value})
    assert from_env({"SEGMENTS_MEMORY_LIMIT": "6GB"}).memory_limit == "6GB"


def test_a_connection_after_duckdb_has_spilled_keeps_the_spill_folder(tmp_path):
    """DuckDB refuses to be told its spill folder again once it has spilled there (dbt's
    threads hit it at 1M clients): a second connection to the database while the first
    has spilled must still open."""
    import duckdb

    from pipelines.resources import Warehouse

    spill = tmp_path / "spill"
    warehouse = Warehouse(
        path=str(tmp_path / "w.duckdb"), memory_limit="32MB", spill_dir=str(spill)
    )
    with warehouse.connect() as first:
        first.execute("set threads = 1")
        first.execute(
            "create table s as select i, md5(i::varchar) as h from range(2000000) t(i) order by h"
        )
        with pytest.raises(duckdb.Error, match="Cannot switch temporary directory"):
            first.execute(f"set temp_directory = '{spill}'")  # it did spill
        with warehouse.connect() as second:
            assert second.sql("select count(*) from s").fetchall() == [(2000000,)]
