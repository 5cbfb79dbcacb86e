"""The HubSpot profile (config/profiles/hubspot.yml) on exports in HubSpot's own layouts
(tests/fixtures/native/hubspot, see its README): companies, contacts, and three deals
exports of one portal (the default 9 columns, then "all properties" twice); and the
real nightly job on that folder with revenue from won deals, reported in USD."""

from __future__ import annotations

import datetime as dt
import os
import re
import shutil
import time
from decimal import Decimal
from pathlib import Path

import duckdb
import pytest
from support import run_exports

from pipelines.ingest.contract import load_contract
from pipelines.ingest.loader import ContractError, RowRules, find_export, load_export
from pipelines.settings import REPO_ROOT

CONTRACT_PATH = REPO_ROOT / "config" / "contract.yml"
PROFILE = REPO_ROOT / "config" / "profiles" / "hubspot.yml"
FIXTURES = REPO_ROOT / "tests" / "fixtures" / "native" / "hubspot"
AS_OF = dt.date(2026, 11, 30)
NEWEST_DEALS = "hubspot-crm-exports-all-deals-2026-11-30.csv"
OLDER_DEALS = "hubspot-crm-exports-all-deals-2026-11-02.csv"
DEFAULT_LAYOUT_DEALS = "hubspot-crm-exports-all-deals-2026-10-05.csv"


def landing_copy(target: Path) -> Path:
    """The fixtures copied with the modification time of the date in each name, as
    files saved on the day they were exported (a checkout's mtimes say nothing)."""
    target.mkdir(parents=True)
    for path in FIXTURES.glob("*.csv"):
        copy = target / path.name
        shutil.copyfile(path, copy)
        day = re.search(r"(\d{4}-\d{2}-\d{2})\.csv$", path.name).group(1)
        stamp = time.mktime(dt.date.fromisoformat(day).timetuple()) + 3600
        os.utime(copy, (stamp, stamp))
    return target


@pytest.fixture(scope="module")
def contract():
    return load_contract(CONTRACT_PATH, [PROFILE])


@pytest.fixture
def landing(tmp_path):
    return landing_copy(tmp_path / "landing")


def counts(result):
    return (result.rows_read, result.rows_loaded, result.rows_filtered, result.rows_rejected)


def test_companies_export_loads_as_accounts(contract, landing):
    spec = contract["accounts"]
    path = find_export(landing, spec)
    assert path.name == "hubspot-crm-exports-all-companies-2026-11-30.csv"
    con = duckdb.connect()
    result = load_export(con, spec, path, "r", RowRules())
    assert counts(result) == (6, 6, 0, 0)
    assert (result.encoding, result.delimiter) == ("utf-8", ",")
    rows = con.execute(
        "select account_id, name, industry, employees, annual_revenue::varchar, city, region, "
        "owner, created_at::varchar, parent_account_id from raw.accounts order by 1"
    ).fetchall()
    assert rows[2] == (
        "5103", "Fabrikam Inc", "Machinery", None, "3500000.50", "Redmond", "United States",
        "Sam Poe", "2020-01-20", None,
    )  # fmt: skip
    assert rows[3][0] == "5104" and rows[3][-1] == "5103"  # a child company's parent
    assert rows[1][4] == "480000000.00"  # "480000000.0"
    assert rows[4][1:4] == ("Tailspin Toys", None, 12)
    assert rows[5][1] == "Litware, Inc."  # a quoted comma


def test_contacts_without_a_primary_company_are_filtered(contract, landing):
    spec = contract["contacts"]
    con = duckdb.connect()
    result = load_export(con, spec, find_export(landing, spec), "r", RowRules())
    assert counts(result) == (6, 5, 1, 0)
    assert result.filter_reasons == {"contact without a primary associated company": 1}
    rows = con.execute(
        "select contact_id, account_id, full_name, title, email, phone from raw.contacts order by 1"
    ).fetchall()
    assert rows[1] == ("7002", "5102", "Bob Stone", "CTO", "bob@contoso.example", "+1 312 555 0190")
    assert rows[4] == ("7006", "5105", "Frank", "Owner", "frank@tailspin.example", None)
    assert "7004" not in {r[0] for r in rows}


def test_the_newest_deals_export_loads_with_stages_mapped(contract, landing):
    spec = contract["deals"]
    path = find_export(landing, spec)
    assert path.name == NEWEST_DEALS  # of 2026-10-05, 2026-11-02 and 2026-11-30
    con = duckdb.connect()
    result = load_export(con, spec, path, "r", RowRules())
    # 8017 has no associated company: rejected, account_id is a key.
    assert counts(result) == (18, 17, 0, 1)
    assert result.reject_reasons == {"missing value: account_id is required": 1}
    assert (result.encoding, result.delimiter) == ("utf-8", ",")
    assert any("'Associated Company IDs' repeats" in w and "Associated Company IDs_2" in w
               for w in result.warnings)  # fmt: skip
    # The portal's open stage with no clear meaning and the blank stage fall back.
    assert result.unmapped_values == {"stage": {"(no stage)": 1, "On hold / future opportunity": 1}}
    assert any("'On hold / future opportunity' (1)" in w and "'first_contact'" in w
               for w in result.warnings)  # fmt: skip
    rows = {
        r[0]: r[1:]
        for r in con.execute(
            "select deal_id, account_id, stage, amount::varchar, currency, probability, "
            "is_closed, created_at::varchar, closed_at::varchar, expected_close_date::varchar "
            "from raw.deals"
        ).fetchall()
    }
    assert rows["8001"] == (
        "5101", "won", "375000.00", None, 1.0, True, "2023-05-31", "2026-09-15", None,
    )  # fmt: skip
    assert rows["8002"][2] == "12500.50"
    assert rows["8003"][0] == "5102"  # the primary company, not "5102;5104"
    assert rows["8006"][0] == "5104"
    assert rows["8005"][1:3] == ("lost", None)  # Closed: abandoned, blank Amount
    assert rows["8008"][1:] == (
        "first_contact", "20000.00", None, 0.1, False, "2026-10-01", None, "2027-01-31",
    )  # fmt: skip
    stages = {deal: row[1] for deal, row in rows.items()}
    assert {k: stages[k] for k in ("8004", "8009", "8010", "8011", "8012", "8013", "8014")} == {
        "8004": "lost",
        "8009": "contract",  # Awaiting procurement
        "8010": "first_contact",  # On hold / future opportunity: fallback
        "8011": "first_contact",
        "8012": "needs_analysis",
        "8013": "presentation",
        "8014": "negotiation",
    }
    assert stages["8015"] == "contract" and stages["8016"] == "first_contact"
    assert rows["8018"][1:3] == ("won", None)  # won, no amount: loads, revenue excludes it
    rejects = con.execute("select line, column_name, reason from raw.rejects").fetchall()
    assert rejects == [(18, "account_id", "missing value: account_id is required")]


def test_an_older_export_of_the_same_portal_reads_its_own_amount_format(contract, landing):
    con = duckdb.connect()
    result = load_export(con, contract["deals"], landing / OLDER_DEALS, "r", RowRules())
    assert counts(result) == (5, 5, 0, 0)
    rows = dict(con.execute("select deal_id, amount::varchar from raw.deals").fetchall())
    assert rows["8001"] == "375000.00"  # "375000" here, "375000.0" four weeks later
    assert "8020" in rows  # deleted in HubSpot since: absent from the newest export


def test_the_default_deals_layout_is_refused_naming_the_company_column(contract, landing):
    with pytest.raises(ContractError) as refused:
        load_export(duckdb.connect(), contract["deals"], landing / DEFAULT_LAYOUT_DEALS, "r")
    message = str(refused.value)
    assert message.startswith(f"{DEFAULT_LAYOUT_DEALS}: missing required column(s)")
    assert '"Associated Company IDs"' in message and "profile hubspot.yml" in message
    assert "columns found: Record ID, Deal Name, Deal Stage, Close Date, Deal owner" in message


def test_the_nightly_job_segments_the_portal_from_its_won_deals(tmp_path):
    exports = landing_copy(tmp_path / "exports")
    night = run_exports(
        tmp_path,
        exports,
        profile="hubspot",
        revenue_source="won_deals",
        reporting_currency="USD",  # the portal's one currency: no fx rates
        as_of=AS_OF,
    )
    assert night.success, night.explain()
    with duckdb.connect(str(night.published), read_only=True) as con:
        segments = con.execute(
            "select account_id, account_name, revenue_t12m from client_segments order by 1"
        ).fetchall()
    # By hand, from the newest deals export: won deals closed after 2025-11-30.
    #   5101: 8001 375000.0 (2026-09-15) + 8002 12500.5 (2026-03-01)
    #   5102: 8003 98000.0 (2025-12-20); 5104: 8006 44000.0 (2026-10-31)
    #   5103: 8007 70000.0 closed 2025-06-30, before the window: a client, 0 this year
    #   5105: its only won deal (8018) has no amount; 8017 (999.0) has no company.
    assert segments == [
        ("5101", "Northwind Traders", Decimal("375000.00") + Decimal("12500.50")),
        ("5102", "Contoso Ltd", Decimal("98000.00")),
        ("5103", "Fabrikam Inc", Decimal("0.00")),
        ("5104", "Fabrikam Europe GmbH", Decimal("44000.00")),
    ]
