"""`segments check`: the landing folder loaded into a scratch database, never the
nightly warehouse, with per source what was found and what would load."""

import json
import os
import subprocess
import sys

from pipelines.settings import REPO_ROOT

ACCOUNTS = "account_id;name;industry;\nA1;ООО Альфа;retail;\nA2;;it;\nA1;ООО Альфа 2;retail;\n"
LINES = (
    "invoice_id,line_no,account_id,invoice_date,amount,currency\n"
    "I1,1,A1,2026-10-01,100.00,RUB\n"
    "I1,2,A1,2026-10-01,12O.00,RUB\n"
    "I2,1,A1,2026-10-02,50.00,XYZ\n"
)


def check(landing, tmp_path, *args, **env):
    command = [sys.executable, "-m", "pipelines.cli", "check", "--exports", str(landing), *args]
    environment = {
        **os.environ,
        "SEGMENTS_DATA_DIR": str(tmp_path / "data"),
        "SEGMENTS_PROFILE": "",
        **env,
    }
    return subprocess.run(
        command, cwd=REPO_ROOT, env=environment, capture_output=True, text=True, timeout=120
    )


def test_check_reports_each_source_and_exits_0_when_the_set_would_load(tmp_path):
    landing = tmp_path / "landing"
    landing.mkdir()
    (landing / "accounts.csv").write_text(ACCOUNTS, encoding="utf-8")
    (landing / "invoice_lines.csv").write_text(LINES, encoding="utf-8")
    done = check(landing, tmp_path, "--json")
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["ok"] is True
    accounts = report["sources"]["accounts"]
    assert (accounts["file"], accounts["delimiter"], accounts["encoding"]) == (
        "accounts.csv",
        ";",
        "utf-8",
    )
    assert (accounts["rows_read"], accounts["rows_loaded"], accounts["rows_rejected"]) == (3, 2, 1)
    assert accounts["reject_reasons"] == {"duplicate key: superseded by line 4": 1}
    assert any("column 4 has no header name" in w for w in accounts["warnings"])
    lines = report["sources"]["invoice_lines"]
    assert (lines["rows_read"], lines["rows_loaded"], lines["rows_rejected"]) == (3, 1, 2)
    assert lines["reject_reasons"] == {
        "expected a number": 1,
        "unknown currency: not in fx_rates.currency (RUB)": 1,
    }
    assert lines["reject_examples"]["expected a number"] == "line 3, column amount: 12O.00"
    leads = report["sources"]["leads"]
    assert leads["file"] is None and leads["rows_read"] == 0
    assert leads["warnings"][0].startswith("absent: no leads.csv")
    for source in report["sources"].values():
        assert set(source) >= {"file", "rows_read", "rows_loaded", "rows_filtered",
                               "rows_rejected", "reject_reasons", "warnings"}  # fmt: skip
        assert source["rows_read"] == (
            source["rows_loaded"] + source["rows_filtered"] + source["rows_rejected"]
        )
    # A scratch database: the nightly warehouse is never created or touched.
    assert not (tmp_path / "data" / "warehouse.duckdb").exists()


def test_check_rejects_lines_after_the_nights_as_of_as_the_night_would(tmp_path):
    landing = tmp_path / "landing"
    landing.mkdir()
    (landing / "accounts.csv").write_text(ACCOUNTS, encoding="utf-8")
    (landing / "invoice_lines.csv").write_text(LINES, encoding="utf-8")
    done = check(landing, tmp_path, "--json", SEGMENTS_AS_OF="2026-10-01")
    lines = json.loads(done.stdout)["sources"]["invoice_lines"]
    assert lines["reject_reasons"]["invoice_date is after the run's as_of 2026-10-01"] == 1


def test_check_exits_1_and_says_why_when_the_set_would_not_load(tmp_path):
    landing = tmp_path / "landing"
    landing.mkdir()
    (landing / "accounts.csv").write_text("account_id,title\nA1,x\n", encoding="utf-8")
    done = check(landing, tmp_path)
    assert done.returncode == 1
    assert "accounts      REFUSED" in done.stdout
    assert "missing required column(s) name" in done.stdout
    assert "invoice_lines REFUSED" in done.stdout
    assert "required export not found: expected invoice_lines.csv" in done.stdout
    assert "The set would NOT load" in done.stdout


def test_check_names_an_unknown_profile_and_exits_2(tmp_path):
    landing = tmp_path / "landing"
    landing.mkdir()
    done = check(landing, tmp_path, SEGMENTS_PROFILE="nosuch")
    assert done.returncode == 2
    assert "profile" in done.stderr and "nosuch.yml not found; built-in profiles:" in done.stderr
    assert "Traceback" not in done.stderr
