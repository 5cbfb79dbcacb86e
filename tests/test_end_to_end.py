"""One real run of the nightly job (ingest -> dbt -> segments -> gate -> publication) on
a generated sample, checked on the published tables against docs/revenue.md,
docs/segments.md, docs/growth_potential.md, docs/tiers.md and docs/publication.md.

Revenue is recomputed here independently, with pandas straight from the export CSVs.
The tests that run the job again (failed gate, publish-only, a second night) run it on
a private copy of the shared run (conftest's `e2e_copy`), so no test depends on the order.
"""

import dataclasses
import datetime as dt
import json
import math
import os
import subprocess
import sys
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

import duckdb
import pandas as pd
import pytest
import yaml
from dagster import AssetKey

from assets.config import load_rules
from pipelines.marts.dbt import nightly_target
from pipelines.settings import DBT_PROJECT_DIR, REPO_ROOT

RULES = load_rules()
PUBLISHED_TABLES = {
    "client_segments",
    "segment_mix",
    "client_revenue_monthly",
    "portfolio_concentration",
    "retention_risks",
    "lead_rankings",
    "cross_sell",
    "sales_funnel",
    "sales_funnel_stages",
    "segment_transitions",
    "segment_history",
    "load_report",
    "release",
    "release_manifest",
    "data_dictionary",
}


def published(e2e_run, sql: str) -> pd.DataFrame:
    with duckdb.connect(str(e2e_run["publish"]), read_only=True) as con:
        return con.sql(sql).df()


def warehouse(e2e_run, sql: str) -> pd.DataFrame:
    with duckdb.connect(str(e2e_run["warehouse"]), read_only=True) as con:
        return con.sql(sql).df()


@pytest.fixture(scope="module")
def segments(e2e_run) -> pd.DataFrame:
    return published(e2e_run, "select * from client_segments")


@pytest.fixture(scope="module")
def as_of(e2e_run) -> dt.date:
    return published(e2e_run, "select as_of from release")["as_of"].iat[0].date()


@pytest.fixture(scope="module")
def expected_revenue(e2e_run, as_of) -> pd.DataFrame:
    """docs/revenue.md recomputed with pandas from the raw exports."""
    lines = pd.read_csv(e2e_run["exports"] / "invoice_lines.csv", dtype=str)
    lines["amount_text"] = lines["amount"]
    lines["amount"] = pd.to_numeric(lines["amount"], errors="coerce")
    lines["invoice_date"] = pd.to_datetime(
        lines["invoice_date"], format="%Y-%m-%d", errors="coerce"
    )
    lines = lines.dropna(subset=["amount", "invoice_date", "account_id"])  # the rejects
    lines = lines[(lines["status"] != "cancelled") & (lines["invoice_date"] <= pd.Timestamp(as_of))]
    fx = pd.read_csv(e2e_run["exports"] / "fx_rates.csv", parse_dates=["rate_date"])
    lines = pd.merge_asof(
        lines.sort_values("invoice_date"),
        fx.sort_values("rate_date"),
        left_on="invoice_date",
        right_on="rate_date",
        by="currency",
    )
    lines["rate"] = lines["rate_to_reporting"].where(lines["currency"] != "RUB", 1.0)
    # Exact decimals, half away from zero (accounting rounding, as DuckDB's DECIMAL round).
    lines["amount_rub"] = [
        float((Decimal(a) * Decimal(str(r))).quantize(Decimal("0.01"), ROUND_HALF_UP))
        for a, r in zip(lines["amount_text"], lines["rate"], strict=True)
    ]
    t12_start = pd.Timestamp(as_of) - pd.DateOffset(months=12)
    base_start = pd.Timestamp(as_of) - pd.DateOffset(months=24)
    base = lines[lines["invoice_date"] > base_start]["account_id"].unique()
    t12 = lines[lines["invoice_date"] > t12_start].groupby("account_id")["amount_rub"].sum()
    frame = pd.DataFrame(index=pd.Index(sorted(base), name="account_id"))
    frame["revenue_t12m"] = t12.reindex(frame.index).fillna(0.0)
    return frame


def test_every_table_is_published_in_one_file(e2e_run):
    tables = set(
        published(e2e_run, "select table_name from information_schema.tables")["table_name"]
    )
    assert tables == PUBLISHED_TABLES


def test_published_types_are_ones_every_bi_tool_reads(e2e_run):
    """Text, integers, decimals, dates, timestamps and booleans only: no LIST, STRUCT, MAP
    or JSON (SQLAlchemy, spreadsheet and Power BI connectors cannot show them)."""
    types = published(
        e2e_run, "select table_name, column_name, data_type from information_schema.columns"
    )
    readable = types["data_type"].str.fullmatch(
        r"VARCHAR|BOOLEAN|DATE|TIMESTAMP|DOUBLE|INTEGER|BIGINT|DECIMAL\(\d+,\d+\)"
    )
    assert types[~readable].to_dict("records") == []


def test_the_published_file_explains_every_table_and_column(e2e_run):
    """COMMENT ON every table and column (DBeaver and the duckdb CLI show them) and a
    data_dictionary with one described row per column of every table, itself included."""
    tables = published(
        e2e_run, "select table_name, comment from duckdb_tables() where database_name = 'segments'"
    )
    assert set(tables["table_name"]) == PUBLISHED_TABLES
    assert tables["comment"].fillna("").str.len().gt(20).all(), tables
    columns = published(
        e2e_run,
        "select table_name, column_name, data_type, comment from duckdb_columns() "
        "where database_name = 'segments' order by table_name, column_index",
    )
    assert columns["comment"].fillna("").str.len().gt(5).all(), columns[
        columns["comment"].fillna("").str.len() <= 5
    ]
    dictionary = published(
        e2e_run,
        "select table_name, column_name, data_type, description as comment, derived_from "
        "from data_dictionary order by table_name",
    )
    pd.testing.assert_frame_equal(
        dictionary.drop(columns="derived_from")
        .sort_values(["table_name", "column_name"])
        .reset_index(drop=True),
        columns.sort_values(["table_name", "column_name"]).reset_index(drop=True),
    )
    segment = dictionary.set_index(["table_name", "column_name"]).loc[
        ("client_segments", "segment")
    ]
    assert segment["derived_from"].startswith("segmentation.client_segments.segment <- ")


def test_list_values_are_published_as_comma_separated_text(e2e_run):
    segments = published(
        e2e_run, "select account_id, risk_flags from client_segments order by account_id"
    )
    flags = published(
        e2e_run,
        "select account_id, list(flag) as flags from retention_risks group by account_id",
    ).set_index("account_id")["flags"]
    expected = segments["account_id"].map(lambda a: set(flags.get(a, [])))
    got = segments["risk_flags"].map(lambda text: set(text.split(", ")) - {""})
    assert (got == expected).all()
    assert (segments["risk_flags"] != "").any()


def test_as_of_defaults_to_the_latest_invoice_date(e2e_run, as_of):
    lines = pd.read_csv(e2e_run["exports"] / "invoice_lines.csv", dtype=str)
    latest = pd.to_datetime(lines["invoice_date"], format="%Y-%m-%d", errors="coerce").max()
    assert as_of == latest.date()


def test_client_segments_has_the_documented_columns(segments):
    assert list(segments.columns) == [
        "account_id",
        "account_name",
        "as_of",
        "segment",
        "segment_reason",
        "service_model",
        "abc_class",
        "revenue_t12m",
        "revenue_prev_t12m",
        "growth",
        "revenue_share",
        "revenue_rank",
        "active_months_24m",
        "growth_potential",
        "size_tier",
        "corporate_tier",
        "industry",
        "region",
        "owner",
        "risk_score",
        "risk_level",
        "risk_flags",
        "revenue_at_risk",
        "top_cross_sell_family",
        "white_space_families",
        "run_id",
        "config_version",
        "published_at",
    ]


def test_every_published_row_carries_as_of_run_id_and_config_version(e2e_run, as_of):
    run_id = e2e_run["result"].run_id
    # segment_transitions is empty on a first night; tests/test_two_nights.py covers it.
    # data_dictionary describes the file's columns, not a night's rows.
    for table in PUBLISHED_TABLES - {"segment_transitions", "data_dictionary"}:
        frame = published(e2e_run, f"select as_of, run_id, config_version from {table}")
        assert len(frame) > 0, table
        assert set(frame["as_of"].dt.date) == {as_of}, table
        assert set(frame["config_version"]) == {RULES.version}, table
        assert set(frame["run_id"]) == {run_id}, table


def test_one_row_per_client_of_the_nights_base(segments, expected_revenue):
    assert segments["account_id"].is_unique
    assert set(segments["account_id"]) == set(expected_revenue.index)


def test_revenue_t12m_matches_an_independent_recomputation_to_the_kopeck(
    segments, expected_revenue
):
    joined = segments.set_index("account_id").join(expected_revenue, rsuffix="_expected")
    difference = (joined["revenue_t12m"] - joined["revenue_t12m_expected"]).abs()
    assert difference.max() < 0.006, joined[difference >= 0.006].head()


def test_ranks_shares_and_abc_classes_follow_domain_2_and_3(segments):
    paying = segments[segments["revenue_t12m"] > 0].sort_values(
        ["revenue_t12m", "account_id"], ascending=[False, True]
    )
    assert list(paying["revenue_rank"]) == list(range(1, len(paying) + 1))
    assert segments.loc[segments["revenue_t12m"] <= 0, "revenue_rank"].isna().all()
    total = paying["revenue_t12m"].sum()
    before = paying["revenue_t12m"].cumsum().shift(fill_value=0) / total
    expected = before.map(lambda share: "A" if share < 0.80 else "B" if share < 0.95 else "C")
    assert (paying["abc_class"] == expected).all()
    assert (segments.loc[segments["revenue_t12m"] <= 0, "abc_class"] == "C").all()
    assert paying["revenue_share"].sum() == pytest.approx(1.0)


def test_segments_follow_the_rules_in_order(e2e_run, segments, as_of):
    facts = warehouse(e2e_run, "select account_id, last_invoice_date from marts.dim_clients")
    frame = segments.merge(facts, on="account_id")
    paying = int((frame["revenue_t12m"] > 0).sum())
    cutoff = math.ceil(paying * 5 / 100)
    lapsed = pd.to_datetime(frame["last_invoice_date"]) <= pd.Timestamp(as_of - dt.timedelta(180))
    is_ballast = (
        (frame["abc_class"] == "C")
        & ~frame["growth_potential"]
        & ((frame["active_months_24m"] <= 1) | lapsed)
    )
    is_vip = (frame["abc_class"] == "A") & (frame["revenue_rank"] <= cutoff)
    is_strategic = frame["growth_potential"] & (
        frame["abc_class"].isin(["A", "B"]) | frame["size_tier"].isin(["umm", "enterprise"])
    )
    expected = is_ballast.map({True: "ballast", False: None})
    expected = expected.fillna(is_vip.map({True: "vip", False: None}))
    expected = expected.fillna(is_strategic.map({True: "strategic", False: None}))
    expected = expected.fillna("typical")
    assert (frame["segment"] == expected).all()
    assert set(frame["segment"]) == {"vip", "strategic", "typical", "ballast"}
    assert all(
        reason.startswith(f"{segment}:")
        for reason, segment in zip(frame["segment_reason"], frame["segment"], strict=True)
    )


def test_corporate_tiers_follow_revenue_rank(segments):
    top = segments[segments["revenue_rank"] <= 100]
    assert (top["corporate_tier"] == "top100").all()
    rest = segments[segments["revenue_rank"].isna()]
    assert (rest["corporate_tier"] == "mass").all()


def test_segment_mix_counts_match_client_segments(e2e_run, segments):
    mix = published(e2e_run, "select * from segment_mix").set_index("segment")
    counts = segments["segment"].value_counts()
    for name in ("vip", "strategic", "typical", "ballast"):
        assert mix.loc[name, "clients"] == counts.get(name, 0)
        assert (
            mix.loc[name, "healthy_min_share"],
            mix.loc[name, "healthy_max_share"],
        ) == RULES.segments.healthy_mix[name]


def test_portfolio_concentration_matches_the_ranked_shares(e2e_run, segments):
    portfolio = published(e2e_run, "select * from portfolio_concentration").iloc[0]
    shares = segments.dropna(subset=["revenue_rank"]).sort_values("revenue_rank")["revenue_share"]
    assert portfolio["top5_share"] == pytest.approx(shares.head(5).sum())
    assert portfolio["hhi"] == pytest.approx(((shares * 100) ** 2).sum())


def test_monthly_revenue_has_24_months_per_client_with_movements(e2e_run, segments):
    monthly = published(e2e_run, "select * from client_revenue_monthly")
    per_client = monthly.groupby("account_id")["revenue_month"].nunique()
    assert (per_client == 24).all() and set(per_client.index) == set(segments["account_id"])
    assert set(monthly["movement"]) <= {
        "new",
        "expansion",
        "contraction",
        "churn",
        "reactivation",
        "flat",
        "inactive",
    }


def test_load_report_accounts_for_every_row_and_the_rejects_are_kept(e2e_run):
    report = published(e2e_run, "select * from load_report").set_index("source")
    assert (report["rows_read"] == report["rows_loaded"] + report["rows_rejected"]).all()
    assert report.loc["invoice_lines", "rows_rejected"] == 3
    assert report["sha256"].str.len().eq(64).all()
    missing = warehouse(e2e_run, "select count(*) as n from marts.dim_clients where not is_in_crm")[
        "n"
    ].iat[0]
    assert missing > 0  # the sample drops 0.3% of billed clients from the CRM
    assert report.loc["invoice_lines", "notes"].startswith(
        f"{missing} billed client(s) missing from the CRM snapshot"
    )
    rejects = warehouse(e2e_run, "select * from raw.rejects where source = 'invoice_lines'")
    assert set(rejects["column_name"]) == {"account_id", "amount", "invoice_date"}
    assert rejects["line"].min() > 1


def test_no_personal_data_is_published(e2e_run):
    columns = published(e2e_run, "select table_name, column_name from information_schema.columns")
    forbidden = {"full_name", "email", "phone", "title", "contact_id"}
    assert not forbidden & set(columns["column_name"])
    text = published(
        e2e_run,
        "select string_agg(segment_reason || coalesce(account_name, '')) as t from client_segments",
    )["t"].iat[0]
    assert "@" not in text


def test_dbt_tests_ran_as_asset_checks(e2e_run):
    evaluations = e2e_run["result"].get_asset_check_evaluations()
    by_asset = {e.asset_key for e in evaluations}
    assert AssetKey(["marts", "dim_clients"]) in by_asset
    # Source freshness is judged against the wall clock: test_source_freshness.py.
    assert all(
        e.passed
        for e in evaluations
        if e.asset_key != AssetKey(["intermediate", "int_invoice_lines_missing_fx_rate"])
        and e.check_name != "invoice_lines_fresh"
    )
    gate = [e for e in evaluations if e.check_name == "client_segments_quality_gate"]
    assert len(gate) == 1 and gate[0].passed


def test_the_night_runs_the_dbt_tests_but_not_the_dbt_unit_tests(e2e_run):
    """Unit tests check the SQL on fixed inputs: the suite runs them (below), the night
    spends its time on the data."""
    target = nightly_target(str(e2e_run["warehouse"]))
    ran = json.loads((target / "run_results.json").read_text())["results"]
    kinds = {result["unique_id"].split(".")[0] for result in ran}
    assert {"model", "test"} <= kinds
    assert "unit_test" not in kinds


def test_every_dbt_unit_test_passes(e2e_copy, tmp_path):
    """The dbt unit tests (the unit_tests of the models' yml: ABC boundaries, windows,
    FX carry-forward...), on the night's warehouse, which holds the relations whose
    columns they read."""
    project = str(DBT_PROJECT_DIR)
    dbt_vars = {"warehouse_path": str(e2e_copy["warehouse"]), "temp_directory": str(tmp_path)}
    run = subprocess.run(
        [str(Path(sys.executable).with_name("dbt")), "test", "--project-dir", project,
         "--profiles-dir", project, "--target-path", str(tmp_path / "target"),
         "--log-path", str(tmp_path), "--vars", json.dumps(dbt_vars),
         "--select", "test_type:unit"],
        capture_output=True, text=True, cwd=project,
        env={k: v for k, v in os.environ.items() if not k.startswith("DBT_")},
    )  # fmt: skip
    assert run.returncode == 0, run.stdout[-3000:]
    ran = json.loads((tmp_path / "target" / "run_results.json").read_text())["results"]
    results = [r for r in ran if r["unique_id"].startswith("unit_test.")]  # not on-run-start
    declared = json.loads((tmp_path / "target" / "manifest.json").read_text())["unit_tests"]
    assert len(declared) >= 13
    assert sorted(r["unique_id"] for r in results) == sorted(declared)
    assert {r["status"] for r in results} == {"pass"}


def test_every_publication_gate_ran_with_error_severity(e2e_run):
    from dagster import AssetCheckSeverity

    evaluations = {e.check_name: e for e in e2e_run["result"].get_asset_check_evaluations()}
    for name in (
        "client_segments_quality_gate",
        "retention_risks_quality_gate",
        "lead_rankings_quality_gate",
    ):
        assert evaluations[name].passed, name
        assert evaluations[name].severity == AssetCheckSeverity.ERROR, name


# --- Stateful tests: they change the warehouse or the publication, so they come last.


def failure_messages(result) -> str:
    """What the failed steps said: the Failure's description and the error message."""
    texts = []
    for event in result.all_events:
        if event.is_step_failure:
            data = event.step_failure_data
            texts.append(data.error.message if data.error else "")
            if data.user_failure_data:
                texts.append(data.user_failure_data.description or "")
    return " ".join(texts)


# Publication writes the release and the segment history in one step.
PUBLICATION = [AssetKey(["publish", "segments_release"]), AssetKey(["history", "client_segments"])]


def _segments_and_publish_keys():
    return [
        AssetKey(["segmentation", "client_segments"]),
        AssetKey(["segmentation", "segment_mix"]),
        *PUBLICATION,
    ]


def test_failed_gate_leaves_the_previous_publication_byte_identical(e2e_copy, tmp_path):
    from pipelines.definitions import nightly_job

    job = e2e_copy["job"]
    before = e2e_copy["publish"].read_bytes()
    strict = yaml.safe_load((REPO_ROOT / "config" / "segmentation.yml").read_text())
    strict["quality"]["min_clients"] = 10**9
    strict_path = tmp_path / "strict.yml"
    strict_path.write_text(yaml.safe_dump(strict))

    strict_job = nightly_job(dataclasses.replace(e2e_copy["env"], rules_path=strict_path))
    failed = strict_job.execute_in_process(
        instance=e2e_copy["instance"],
        raise_on_error=False,
        asset_selection=_segments_and_publish_keys(),
    )
    assert not failed.success
    gate = [
        e
        for e in failed.get_asset_check_evaluations()
        if e.check_name == "client_segments_quality_gate"
    ]
    assert len(gate) == 1 and not gate[0].passed
    materialized = {
        m.asset_key
        for m in failed.get_asset_materialization_events()
        for m in [m.event_specific_data.materialization]
    }
    assert AssetKey(["publish", "segments_release"]) not in materialized
    assert e2e_copy["publish"].read_bytes() == before

    # A run that selects only publication after the failed audit publishes nothing.
    publish_only = job.execute_in_process(
        instance=e2e_copy["instance"],
        raise_on_error=False,
        asset_selection=PUBLICATION,
    )
    assert not publish_only.success
    message = failure_messages(publish_only)
    assert "latest audit" in message and "Nothing was published" in message
    assert e2e_copy["publish"].read_bytes() == before

    # A passing audit again, then a table changed after it: still not published.
    restored = job.execute_in_process(
        instance=e2e_copy["instance"],
        raise_on_error=False,
        asset_selection=_segments_and_publish_keys(),
    )
    assert restored.success
    with duckdb.connect(str(e2e_copy["warehouse"])) as con:
        con.execute(
            "update segmentation.client_segments set segment = 'vip' where segment = 'ballast'"
        )
    republished = e2e_copy["publish"].read_bytes()
    tampered = job.execute_in_process(
        instance=e2e_copy["instance"],
        raise_on_error=False,
        asset_selection=PUBLICATION,
    )
    assert not tampered.success
    assert "changed since its last passing audit" in failure_messages(tampered)
    assert e2e_copy["publish"].read_bytes() == republished


def test_a_second_night_with_as_of_from_run_config(e2e_copy, e2e_run, as_of):
    night = dt.date(2026, 6, 30)
    shared_before = e2e_run["publish"].read_bytes()
    result = e2e_copy["job"].execute_in_process(
        instance=e2e_copy["instance"],
        raise_on_error=False,
        run_config={"resources": {"night": {"config": {"as_of": night.isoformat()}}}},
    )
    assert result.success
    release = published(e2e_copy, "select as_of, run_id from release").iloc[0]
    assert release["as_of"].date() == night and release["run_id"] == result.run_id
    latest = published(e2e_copy, "select max(revenue_month) as m from client_revenue_monthly")
    assert latest["m"].iat[0].date() == dt.date(2026, 6, 1)
    assert not Path(f"{e2e_copy['publish']}.wal").exists()
    assert not list(e2e_copy["publish"].parent.glob(".*.tmp"))
    # The night ran on the copy: the shared run's publication is as the session made it.
    assert e2e_run["publish"].read_bytes() == shared_before
    assert published(e2e_run, "select as_of from release")["as_of"].iat[0].date() == as_of
