"""Any subset of exports runs (issue 8): the real nightly job with each optional export
left out, and with the required ones (accounts, invoice_lines) only, publishes what can
be computed, says in the run log and in load_report what was missing, and leaves
everything that does not depend on the missing file exactly as the full run has it.

One small sample is generated for the module; each case gets its own landing folder,
warehouse and publish folder. The twelve runs (the full set is the reference) go
through two worker processes, each importing the definitions once and running its
share of cases in process, one after the other, with its own dbt target folder (so
the two never write the same dbt artifacts). The file takes about 2 1/2 minutes
on 2 cores.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import logging
import os
import shutil
import subprocess
import sys
from pathlib import Path

import duckdb
import pandas as pd
import pytest

OPTIONAL = [
    "contacts",
    "deals",
    "deal_stage_history",
    "leads",
    "activities",
    "feedback",
    "contracts",
    "fx_rates",
    "products",
]
REQUIRED = ["accounts", "invoice_lines"]
CASES: dict[str, set[str]] = {
    "full": set(),
    **{f"without_{source}": {source} for source in OPTIONAL},
    "required_only": set(OPTIONAL),
}
# Absent, these change which invoice lines count (no rate: a foreign line is rejected).
REVENUE_SOURCES = {"fx_rates"}
REVENUE_NEUTRAL = [c for c, absent in CASES.items() if c != "full" and not absent & REVENUE_SOURCES]
# Exports that feed neither revenue nor segments: without them client_segments keeps
# every segment the full run gives (deals feed growth potential through the pipeline).
SEGMENT_NEUTRAL = ["without_contacts", "without_leads", "without_activities"]
SEGMENT_NEUTRAL += ["without_feedback", "without_contracts", "without_deal_stage_history"]
# The retention flag that needs each export (README, "Retention risk and lead ranking").
FLAG_SOURCES = {
    "contacts": "decision_maker_lost",
    "activities": "no_contact",
    "feedback": "low_satisfaction",
    "contracts": "contract_expiring",
}
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
WORKERS = 2
# A seed whose 80 clients fire every flag an absent export removes, contract_expiring both
# with and without an open deal (the tests below need each).
SAMPLE = {"clients": 80, "months": 24, "seed": 41, "end_date": dt.date(2026, 10, 31)}


# --- the worker: python tests/test_partial_exports.py <dbt target> <case folder>... ---


def run_cases(dbt_target: Path, case_dirs: list[Path]) -> None:
    """Run the nightly job in this process once per case folder (exports/ in it), with
    definitions built for that folder, and write outcome.json beside it."""
    from dagster import DagsterInstance
    from support import env_for, run_nightly

    # One warehouse path for every case of this worker, started afresh each time and
    # moved into the case folder afterwards: dbt's partial parse survives only while
    # the profile (the path) stays the same, and saves ~5 s of parsing a case.
    work_dir = dbt_target.with_name(f"{dbt_target.name}-warehouse")
    for case_dir in case_dirs:
        env = dataclasses.replace(env_for(case_dir), data_dir=work_dir)
        work = env.warehouse_path
        for leftover in (work, work.with_name(f"{work.name}.wal")):
            leftover.unlink(missing_ok=True)
        with DagsterInstance.ephemeral() as instance:
            result = run_nightly(env, instance=instance)
            warnings = [
                entry.user_message
                for entry in instance.all_logs(result.run_id)
                if entry.level >= logging.WARNING and entry.user_message
            ]
        outcome = {
            "success": result.success,
            "failures": [e.message for e in result.all_events if e.is_failure],
            "checks": {e.check_name: e.passed for e in result.get_asset_check_evaluations()},
            "warnings": warnings,
        }
        shutil.move(work, case_dir / "warehouse.duckdb")
        (case_dir / "outcome.json").write_text(json.dumps(outcome))


# --- the module's runs ---


@pytest.fixture(scope="module")
def runs(tmp_path_factory) -> dict[str, dict]:
    from pipelines.marts.dbt import ensure_manifest
    from sample_data.generate import SampleSpec, generate

    root = tmp_path_factory.mktemp("partial-exports")
    sample = root / "sample"
    generate(sample, SampleSpec(defects=False, **SAMPLE))
    # Parse once here if needed: the workers must not both write the manifest.
    ensure_manifest()
    case_dirs = {}
    for case, absent in CASES.items():
        exports = root / case / "exports"
        exports.mkdir(parents=True)
        for source in REQUIRED + OPTIONAL:
            if source not in absent:
                shutil.copy(sample / f"{source}.csv", exports / f"{source}.csv")
        case_dirs[case] = root / case
    names = list(CASES)
    repo = Path(__file__).resolve().parents[1]
    # The workers import this checkout's code, whatever the venv's editable install says.
    path = [str(repo), *filter(None, [os.environ.get("PYTHONPATH")])]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(path)}
    logs = [root / f"worker-{i}.log" for i in range(WORKERS)]
    workers = []
    for i, log in enumerate(logs):
        with log.open("w") as sink:  # a file, not a pipe: a full pipe would stall a worker
            workers.append(
                subprocess.Popen(
                    [
                        sys.executable,
                        __file__,
                        str(root / f"dbt-target-{i}"),
                        *(str(case_dirs[c]) for c in names[i::WORKERS]),
                    ],
                    stdout=sink,
                    stderr=subprocess.STDOUT,
                    cwd=repo,
                    env=env,
                )
            )
    for worker, log in zip(workers, logs, strict=True):
        assert worker.wait(timeout=600) == 0, log.read_text()[-5000:]
    out = {}
    for case, case_dir in case_dirs.items():
        outcome = json.loads((case_dir / "outcome.json").read_text())
        out[case] = {
            **outcome,
            "absent": CASES[case],
            "exports": case_dir / "exports",
            "publish": case_dir / "publish" / "segments.duckdb",
            "warehouse": case_dir / "warehouse.duckdb",
            "sample": sample,
        }
    return out


def published(run: dict, sql: str) -> pd.DataFrame:
    with duckdb.connect(str(run["publish"]), read_only=True) as con:
        return con.sql(sql).df()


def warehouse(run: dict, sql: str) -> pd.DataFrame:
    with duckdb.connect(str(run["warehouse"]), read_only=True) as con:
        return con.sql(sql).df()


def flags_of(run: dict) -> pd.DataFrame:
    return published(
        run, "select account_id, flag, severity, evidence from retention_risks order by all"
    )


def warned(run: dict, *words: str) -> bool:
    return any(all(w in message for w in words) for message in run["warnings"])


# --- every case ---


@pytest.mark.parametrize("case", list(CASES))
def test_the_night_succeeds_and_publishes_every_table(runs, case):
    run = runs[case]
    assert run["success"], run["failures"]
    # Source freshness is judged against the wall clock: test_source_freshness.py.
    checks = {name: ok for name, ok in run["checks"].items() if name != "invoice_lines_fresh"}
    assert checks and all(checks.values()), checks
    tables = set(published(run, "select table_name from information_schema.tables")["table_name"])
    assert tables == PUBLISHED_TABLES


@pytest.mark.parametrize("case", list(CASES))
def test_client_segments_has_one_row_per_client_of_the_base(runs, case):
    run = runs[case]
    segments = published(run, "select account_id, segment from client_segments")
    base = warehouse(run, "select account_id from marts.dim_clients")
    assert len(segments) > 0
    assert segments["account_id"].is_unique
    assert set(segments["account_id"]) == set(base["account_id"])
    assert segments["segment"].notna().all()
    if not run["absent"] & REVENUE_SOURCES:
        full = published(runs["full"], "select account_id from client_segments")
        assert set(segments["account_id"]) == set(full["account_id"])


@pytest.mark.parametrize("case", [c for c in CASES if c != "full"])
def test_load_report_says_which_exports_were_absent(runs, case):
    run = runs[case]
    report = published(run, "select * from load_report").set_index("source")
    assert set(report.index) == set(REQUIRED + OPTIONAL)
    for source in run["absent"]:
        row = report.loc[source]
        assert row["rows_read"] == 0 and row["rows_loaded"] == 0, (source, row.to_dict())
        assert pd.isna(row["file_name"]), (source, row["file_name"])
    for source in set(REQUIRED + OPTIONAL) - run["absent"]:
        assert report.loc[source, "file_name"] == f"{source}.csv"
        assert report.loc[source, "rows_read"] > 0
    # raw.load_report's note on an absent file, published in `notes`.
    for source in run["absent"]:
        assert "absent" in str(report.loc[source, "notes"]), (source, report.loc[source].to_dict())


@pytest.mark.parametrize("case", [c for c in CASES if c != "full"])
def test_the_run_log_warns_of_each_missing_export(runs, case):
    run = runs[case]
    for source in run["absent"]:
        assert warned(run, source, "empty table"), (source, run["warnings"])
    for source, flag in FLAG_SOURCES.items():
        if source in run["absent"]:
            assert warned(run, f"retention flag {flag} skipped", f"{source}.csv"), run["warnings"]
    if "leads" in run["absent"]:
        assert warned(run, "lead rankings", "leads.csv"), run["warnings"]
    if "products" in run["absent"]:
        assert warned(run, "cross-sell", "products.csv", "no product family"), run["warnings"]
    if "deals" in run["absent"]:
        assert warned(run, "sales funnel", "deals.csv", "empty"), run["warnings"]
        assert warned(run, "client profiles", "deals.csv", "pipeline"), run["warnings"]
        assert warned(run, "lead rankings", "deals.csv", "expected deal value"), run["warnings"]


def test_the_full_run_warns_of_nothing_missing(runs):
    run = runs["full"]
    assert not warned(run, "empty table"), run["warnings"]
    assert not warned(run, "was not in tonight's exports"), run["warnings"]


# --- revenue ---


@pytest.mark.parametrize("case", REVENUE_NEUTRAL)
def test_revenue_is_the_full_runs_when_no_revenue_input_is_missing(runs, case):
    columns = "account_id, revenue_t12m, revenue_prev_t12m, revenue_rank, abc_class"
    sql = f"select {columns} from client_segments order by account_id"
    pd.testing.assert_frame_equal(published(runs[case], sql), published(runs["full"], sql))
    sql = "select account_id, revenue_month, revenue, movement from client_revenue_monthly"
    sql += " order by all"
    pd.testing.assert_frame_equal(published(runs[case], sql), published(runs["full"], sql))


@pytest.mark.parametrize("case", ["without_fx_rates", "required_only"])
def test_without_rates_foreign_lines_are_rejected_and_rouble_clients_keep_their_revenue(runs, case):
    run = runs[case]
    lines = pd.read_csv(run["sample"] / "invoice_lines.csv", dtype=str)
    foreign = lines[lines["currency"] != "RUB"]
    assert len(foreign) > 0  # the sample bills some clients in USD / EUR
    report = published(run, "select * from load_report").set_index("source")
    assert report.loc["invoice_lines", "rows_rejected"] == len(foreign)
    assert report.loc["invoice_lines", "rows_loaded"] == len(lines) - len(foreign)
    reasons = warehouse(run, "select distinct reason from raw.rejects")["reason"]
    assert reasons.str.contains("unknown currency").all(), list(reasons)
    # The sample bills each client in one currency: rouble clients are untouched, the
    # others have no countable line left and leave tonight's base.
    assert (lines.groupby("account_id")["currency"].nunique() == 1).all()
    rouble = set(lines.loc[lines["currency"] == "RUB", "account_id"])
    sql = "select account_id, revenue_t12m, revenue_prev_t12m from client_segments"
    ours = published(run, sql).set_index("account_id").sort_index()
    full = published(runs["full"], sql).set_index("account_id").sort_index()
    assert set(ours.index) == set(full.index) & rouble
    pd.testing.assert_frame_equal(ours, full.loc[ours.index])


# --- segments ---


@pytest.mark.parametrize("case", SEGMENT_NEUTRAL)
def test_segments_do_not_depend_on_crm_activity_exports(runs, case):
    sql = "select account_id, segment, segment_reason, size_tier, corporate_tier "
    sql += "from client_segments order by account_id"
    pd.testing.assert_frame_equal(published(runs[case], sql), published(runs["full"], sql))


def test_without_deals_growth_potential_has_no_pipeline(runs):
    full = warehouse(runs["full"], "select * from segmentation.client_profiles")
    ours = warehouse(runs["without_deals"], "select * from segmentation.client_profiles")
    pipeline = "weighted open pipeline"
    assert full["growth_potential_reason"].str.contains(pipeline).any()
    assert not ours["growth_potential_reason"].str.contains(pipeline).any()


# --- retention ---


@pytest.mark.parametrize("source", list(FLAG_SOURCES))
def test_a_flag_whose_export_is_absent_is_skipped_and_the_others_unchanged(runs, source):
    flag = FLAG_SOURCES[source]
    full, ours = flags_of(runs["full"]), flags_of(runs[f"without_{source}"])
    assert (full["flag"] == flag).any()  # the sample makes it fire on the full set
    assert not (ours["flag"] == flag).any()
    pd.testing.assert_frame_equal(ours, full[full["flag"] != flag].reset_index(drop=True))
    risk_flags = published(runs[f"without_{source}"], "select risk_flags from client_segments")
    assert not any(flag in flags.split(", ") for flags in risk_flags["risk_flags"])


def test_with_the_required_exports_only_no_flag_needs_a_missing_file(runs):
    ours = flags_of(runs["required_only"])
    assert len(ours) > 0  # invoice-based flags still fire
    assert set(ours["flag"]).isdisjoint(FLAG_SOURCES.values())


def test_without_deals_contract_expiring_does_not_claim_there_is_no_open_deal(runs):
    run = runs["without_deals"]
    assert warned(run, "contract_expiring", "deals.csv", "open deals unknown"), run["warnings"]
    expiring = flags_of(run).query("flag == 'contract_expiring'")
    full = flags_of(runs["full"]).query("flag == 'contract_expiring'")
    assert len(full) > 0 and full["evidence"].str.contains("and no open deal").all()
    # Evaluated without the open-deal condition: every client the full run flags, and
    # the sample's client whose expiring contract has an open deal besides.
    assert set(full["account_id"]) < set(expiring["account_id"])
    assert not expiring["evidence"].str.contains("and no open deal").any()
    assert expiring["evidence"].str.contains("open deals unknown").all()


# --- leads ---


@pytest.mark.parametrize("case", ["without_leads", "required_only"])
def test_without_leads_lead_rankings_is_empty_and_its_gate_passes(runs, case):
    assert len(published(runs["full"], "select * from lead_rankings")) > 0
    run = runs[case]
    assert run["checks"]["lead_rankings_quality_gate"]
    rankings = published(run, "select * from lead_rankings")
    assert len(rankings) == 0
    columns = published(runs["full"], "select * from lead_rankings limit 0").columns
    assert list(rankings.columns) == list(columns)


def test_without_deals_every_lead_budget_without_override_is_unknown(runs):
    sql = "select lead_id, bant_budget, bant_unknowns, expected_deal_value from lead_rankings"
    full = published(runs["full"], sql)
    ours = published(runs["without_deals"], sql)
    assert full["expected_deal_value"].notna().any()
    assert ours["expected_deal_value"].isna().all()
    # A manager's bant_budget in leads.csv overrides the derived component.
    overrides = pd.read_csv(runs["full"]["sample"] / "leads.csv", dtype=str).set_index("lead_id")
    derived = ours[overrides.loc[ours["lead_id"], "bant_budget"].isna().to_numpy()]
    assert len(derived) > 0
    assert all("budget" in u.split(", ") for u in derived["bant_unknowns"])
    assert (derived["bant_budget"] == 1).all()


def test_without_products_leads_are_routed_by_product_code(runs):
    assert runs["without_products"]["success"]
    assert warned(runs["without_products"], "lead rankings", "products.csv")
    assert len(published(runs["without_products"], "select * from lead_rankings")) == len(
        published(runs["full"], "select * from lead_rankings")
    )


def test_without_products_deals_still_load(runs):
    report = published(runs["without_products"], "select * from load_report").set_index("source")
    assert report.loc["deals", "rows_rejected"] == 0


# --- the run summary ---


def test_the_run_summary_names_the_absent_exports(runs, capsys):
    from pipelines.cli import print_summary
    from pipelines.settings import from_env

    run = runs["required_only"]
    print_summary(dataclasses.replace(from_env(), publish_dir=run["publish"].parent))
    out = capsys.readouterr().out
    assert "absent tonight (loaded as empty tables): " + ", ".join(sorted(OPTIONAL)) in out
    assert "leads: none ranked (no leads export tonight)" in out


if __name__ == "__main__":
    run_cases(Path(sys.argv[1]), [Path(p) for p in sys.argv[2:]])


# --- cross-sell and the funnel ---

CROSS_SELL_SQL = "select * exclude (run_id, published_at) from cross_sell order by all"
FUNNEL_SQL = "select * exclude (run_id, published_at) from sales_funnel order by all"


@pytest.mark.parametrize(
    "case", [c for c in REVENUE_NEUTRAL if c not in ("without_products", "required_only")]
)
def test_cross_sell_needs_only_accounts_invoices_and_products(runs, case):
    full = published(runs["full"], CROSS_SELL_SQL)
    assert len(full) > 0
    pd.testing.assert_frame_equal(published(runs[case], CROSS_SELL_SQL), full)


@pytest.mark.parametrize("case", ["without_products", "required_only"])
def test_without_products_there_is_no_family_to_offer(runs, case):
    assert published(runs[case], "select count(*) as n from cross_sell")["n"].iat[0] == 0
    tops = published(
        runs[case], "select top_cross_sell_family, white_space_families from client_segments"
    )
    assert tops["top_cross_sell_family"].isna().all() and (tops["white_space_families"] == 0).all()


@pytest.mark.parametrize("case", ["without_deals", "required_only"])
def test_without_deals_the_funnel_is_empty_and_published(runs, case):
    for table in ("sales_funnel", "sales_funnel_stages"):
        assert published(runs[case], f"select count(*) as n from {table}")["n"].iat[0] == 0


def test_without_the_stage_history_the_funnel_keeps_its_rates_and_waits_for_paths(runs):
    """The win rates and cycles need only the deals; a first night without the
    deal_stage_history export has no nightly history yet, so no deal shows its path."""
    full, ours = runs["full"], runs["without_deal_stage_history"]
    pd.testing.assert_frame_equal(published(ours, FUNNEL_SQL), published(full, FUNNEL_SQL))
    assert published(full, "select count(*) as n from sales_funnel_stages")["n"].iat[0] > 0
    assert published(ours, "select count(*) as n from sales_funnel_stages")["n"].iat[0] == 0
