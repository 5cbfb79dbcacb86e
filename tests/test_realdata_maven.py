"""The real public CRM data set (tests/fixtures/realdata/maven_crm, a copy of
../shared/realdata/maven_crm with its SOURCE.md) loads through the maven_crm profile,
its real defects surfacing as rejects with reasons, and every row accounted for."""

from pathlib import Path

import duckdb
import pytest

from pipelines.ingest.contract import load_contract
from pipelines.ingest.loader import RowRules, find_export, load_export
from pipelines.settings import REPO_ROOT

DATA = Path(__file__).parent / "fixtures" / "realdata" / "maven_crm"
CONTRACT = load_contract(
    REPO_ROOT / "config" / "contract.yml", REPO_ROOT / "config" / "profiles" / "maven_crm.yml"
)


@pytest.fixture(scope="module")
def loaded():
    con = duckdb.connect()
    results = {}
    for source in ("products", "accounts", "deals"):
        spec = CONTRACT[source]
        known = {}
        if source == "deals":
            codes = con.execute("select distinct upper(product_code) from raw.products").fetchall()
            known = {"product_code": tuple(sorted(c[0] for c in codes))}
        path = find_export(DATA, spec)
        results[source] = load_export(con, spec, path, "run-1", RowRules(known_values=known))
    return con, results


def test_every_row_is_loaded_or_rejected(loaded):
    _, results = loaded
    for result in results.values():
        assert result.rows_read == result.rows_loaded + result.rows_rejected
    assert (results["accounts"].rows_read, results["accounts"].rows_rejected) == (85, 0)
    assert (results["products"].rows_read, results["products"].rows_rejected) == (7, 0)
    deals = results["deals"]
    # 1,425 open deals without an account, 1,480 "GTXPro" deals, 222 of them both.
    assert (deals.rows_read, deals.rows_loaded, deals.rows_rejected) == (8800, 6117, 2683)


def test_the_real_defects_are_rejected_with_their_reasons(loaded):
    con, _ = loaded
    reasons = dict(
        con.execute(
            "select reason, count(*) from raw.rejects where source = 'deals' group by reason"
        ).fetchall()
    )
    assert reasons["missing value: account_id is required"] == 1425
    unknown = [r for r in reasons if r.startswith("unknown product_code")]
    assert len(unknown) == 1 and reasons[unknown[0]] == 1480
    assert "GTX PRO" in unknown[0]
    values = {
        r[0]
        for r in con.execute(
            "select distinct value from raw.rejects where column_name = 'product_code'"
        ).fetchall()
    }
    assert values == {"GTXPro"}


def test_stages_are_translated_and_open_deals_keep_an_unknown_amount(loaded):
    con, _ = loaded
    stages = dict(con.execute("select stage, count(*) from raw.deals group by stage").fetchall())
    assert set(stages) == {"first_contact", "needs_analysis", "won", "lost"}
    open_with_amount = con.execute(
        "select count(*) from raw.deals where stage in ('first_contact', 'needs_analysis') "
        "and amount is not null"
    ).fetchone()[0]
    assert open_with_amount == 0


def test_accounts_keep_the_parent_company_and_the_crlf_file_reads_clean(loaded):
    con, results = loaded
    assert results["accounts"].delimiter == ","
    parents = con.execute(
        "select count(*) from raw.accounts where parent_account_id is not null"
    ).fetchone()[0]
    assert parents > 0
    assert (
        con.execute(
            "select count(*) from raw.accounts where account_id like '%\\r%' or region like '%\\r%'"
        ).fetchone()[0]
        == 0
    )


def test_the_typos_load_with_a_warning_naming_them(loaded):
    _, results = loaded
    assert results["accounts"].unexpected_values == {
        "industry": {"technolgy": 12},
        "region": {"Philipines": 1},
    }
