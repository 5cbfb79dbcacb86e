"""The profile language (docs/profiles.md) on hand-made exports: expressions, null
markers, scales, value maps with a fallback, row filters, distinct rows, file patterns,
and refusals that name the profile, the source and the key."""

import os
import time
from pathlib import Path

import duckdb
import pytest

from pipelines.ingest.contract import ProfileError, load_contract
from pipelines.ingest.loader import (
    ContractError,
    RowRules,
    ensure_meta_tables,
    find_export,
    load_export,
    load_source,
    source_files,
)
from pipelines.settings import REPO_ROOT

CONTRACT_PATH = REPO_ROOT / "config" / "contract.yml"


def contract_with(tmp_path: Path, text: str):
    profile = tmp_path / "crm.yml"
    profile.write_text(text, encoding="utf-8")
    return load_contract(CONTRACT_PATH, profile)


DEALS_PROFILE = """
sources:
  deals:
    file: ["Opportunity*.csv"]
    skip:
      - {where: "IsDeleted = '1'", reason: "deleted in the CRM"}
    columns:
      deal_id: Id
      account_id: {from: AccountId, null_if: ["000000000000000AAA"]}
      amount: Amount
      currency: CurrencyIsoCode
      probability: {from: Probability, scale: 0.01}
      is_won: IsWon
      is_closed: IsClosed
      closed_at: CloseDate
      stage:
        expr: "case when IsWon = '1' then 'won' when IsClosed = '1' then 'lost' else StageName end"
        map: {Prospecting: first_contact, Negotiation/Review: negotiation}
        fallback: needs_analysis
"""

OPPORTUNITIES = (
    '"Id","IsDeleted","AccountId","StageName","Amount","Probability","IsClosed","IsWon",'
    '"CloseDate","CurrencyIsoCode"\n'
    '"O1","0","A1","Prospecting","100.5","10","0","0","2026-05-11 00:00:00","USD"\n'
    '"O2","0","A1","Closed Won","9225.225","100","1","1","2026-05-12 00:00:00","COP"\n'
    '"O3","0","A2","Firmas","50","60","0","0","2026-06-01 00:00:00","MXN"\n'
    '"O4","1","A2","Closed Lost","0","0","1","0","2026-06-02 00:00:00","MXN"\n'
    '"O5","0","000000000000000AAA","Negociación","70","75","0","0","","USD"\n'
    '"O6","0","A3","Negociación","70","75","0","0","","USD"\n'
)


def test_a_salesforce_style_opportunity_export_loads_through_the_language(tmp_path):
    contract = contract_with(tmp_path, DEALS_PROFILE)
    landing = tmp_path / "landing"
    landing.mkdir()
    (landing / "Opportunity.csv").write_text(OPPORTUNITIES, encoding="utf-8")
    path = find_export(landing, contract["deals"])
    assert path.name == "Opportunity.csv"
    con = duckdb.connect()
    result = load_export(con, contract["deals"], path, "run-1", RowRules())
    # O4 deleted (filtered), O5 has the null id as account: a missing key (rejected).
    assert (result.rows_read, result.rows_loaded, result.rows_filtered, result.rows_rejected) == (
        6,
        4,
        1,
        1,
    )
    assert result.filter_reasons == {"deleted in the CRM": 1}
    rows = con.execute(
        "select deal_id, stage, amount::varchar, probability, is_won, is_closed, "
        "closed_at::varchar from raw.deals order by deal_id"
    ).fetchall()
    assert rows == [
        ("O1", "first_contact", "100.50", 0.1, False, False, "2026-05-11"),
        ("O2", "won", "9225.23", 1.0, True, True, "2026-05-12"),
        ("O3", "needs_analysis", "50.00", 0.6, False, False, "2026-06-01"),
        ("O6", "needs_analysis", "70.00", 0.75, False, False, None),
    ]
    # Custom open stages load at their own probability, named so they can be mapped.
    assert result.unmapped_values == {"stage": {"Firmas": 1, "Negociación": 1}}
    assert any("'Negociación' (1)" in w and "needs_analysis" in w for w in result.warnings)
    reject = con.execute("select line, column_name, value, reason from raw.rejects").fetchall()
    assert reject == [
        (6, "account_id", "000000000000000AAA", "missing value: account_id is required")
    ]


def test_the_newest_file_matching_a_pattern_wins_case_insensitively(tmp_path):
    contract = contract_with(
        tmp_path,
        "sources:\n  deals:\n    file: hubspot-crm-exports-all-deals-*.csv\n"
        "    columns: {deal_id: Record ID, account_id: Company, stage: Stage, amount: Amount}\n",
    )
    landing = tmp_path / "landing"
    landing.mkdir()
    old = landing / "hubspot-crm-exports-all-deals-2026-10-01.csv"
    new = landing / "HUBSPOT-CRM-EXPORTS-ALL-DEALS-2026-11-30.csv"
    for path in (old, new):
        path.write_text("Record ID,Company,Stage,Amount\n")
    past = time.time() - 86400
    os.utime(old, (past, past))
    assert find_export(landing, contract["deals"]) == new
    (landing / "deals.csv").write_text("deal_id\n")
    assert find_export(landing, contract["deals"]) == new  # the profile's names come first


def test_distinct_rows_of_another_objects_export_become_one_account_each(tmp_path):
    contract = contract_with(
        tmp_path,
        "sources:\n  accounts:\n    file: DEAL_*.csv\n    distinct: true\n"
        '    skip: [{where: "nullif(trim(\\"Company: ID\\"), \'\') is null", '
        "reason: 'deal without a company'}]\n"
        "    columns: {account_id: 'Company: ID', name: {from: [Компания, Company]}}\n",
    )
    landing = tmp_path / "landing"
    landing.mkdir()
    (landing / "DEAL_20261130.csv").write_text(
        '"ID";"Company";"Company: ID";\n"1";"Acme";"7";\n"2";"Acme";"7";\n'
        '"3";"";"";\n"4";"Beta";"8";\n"5";"Beta Ltd";"8";\n',
        encoding="utf-8-sig",
    )
    con = duckdb.connect()
    result = load_export(
        con, contract["accounts"], find_export(landing, contract["accounts"]), "r", RowRules()
    )
    assert (result.rows_read, result.rows_loaded, result.rows_filtered, result.rows_rejected) == (
        5,
        2,
        2,
        1,
    )
    assert result.filter_reasons == {"deal without a company": 1, "repeats line 2": 1}
    assert con.execute("select account_id, name from raw.accounts order by 1").fetchall() == [
        ("7", "Acme"),
        ("8", "Beta Ltd"),
    ]
    (reason,) = con.execute("select reason from raw.rejects").fetchone()
    assert reason == "duplicate key: superseded by line 6"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("sources:\n  deal:\n    columns: {}\n", "crm.yml: sources.deal: not a source"),
        (
            "sources:\n  deals:\n    columns: {amount: {from: A, scal: 2}}\n",
            "crm.yml: sources.deals.columns.amount: unknown key(s) scal",
        ),
        (
            "sources:\n  deals:\n    columns: {amout: A}\n",
            "crm.yml: sources.deals.columns: no contract column(s) amout",
        ),
        (
            "sources:\n  deals:\n    columns: {amount: {expr: \"getenv('HOME')\"}}\n",
            "crm.yml: sources.deals.columns.amount.expr: function getenv() is not allowed",
        ),
        (
            'sources:\n  deals:\n    skip: [{where: "Id in (select 1)", reason: x}]\n',
            "crm.yml: sources.deals.skip[0].where: subquery expressions are not allowed",
        ),
        (
            "sources:\n  deals:\n    columns:\n"
            "      amount: {expr: \"(select * from read_csv('/etc/passwd'))\"}\n",
            "not allowed",
        ),
        (
            "sources:\n  deals:\n    columns: {stage: {from: S, fallback: open}}\n",
            "fallback 'open' is not an accepted value",
        ),
    ],
)
def test_profile_mistakes_name_the_file_the_source_and_the_key(tmp_path, text, message):
    with pytest.raises(ProfileError) as refused:
        contract_with(tmp_path, text)
    assert message in str(refused.value)


def test_a_file_without_a_mapped_required_column_names_what_the_profile_wanted(tmp_path):
    contract = contract_with(tmp_path, DEALS_PROFILE)
    path = tmp_path / "Opportunity.csv"
    path.write_text('"Id","AccountId","Amount","IsDeleted"\n"O1","A1","5","0"\n')
    with pytest.raises(ContractError) as refused:
        load_export(duckdb.connect(), contract["deals"], path, "r")
    message = str(refused.value)
    assert "missing required column(s) the header columns of" in message
    assert "(profile crm.yml)" in message and "columns found: Id, AccountId, Amount" in message


def test_when_two_profiles_map_a_source_the_first_listed_wins(tmp_path, caplog):
    """CRM + billing (salesforce,stripe): both map accounts; the CRM's, listed first,
    is the client base, and the other mapping is named in a warning."""
    first, second = tmp_path / "crm.yml", tmp_path / "billing.yml"
    first.write_text("sources:\n  accounts:\n    columns: {account_id: Id, name: Name}\n")
    second.write_text(
        "sources:\n  accounts:\n    columns: {account_id: id, name: Customer}\n"
        "  invoice_lines:\n    file: invoices.csv\n"
    )
    contract = load_contract(CONTRACT_PATH, [first, second])
    assert contract["accounts"].profile == "crm.yml"
    assert contract["accounts"].column("name").source_column == ("Name",)
    assert contract["invoice_lines"].profile == "billing.yml"
    assert "accounts is already mapped by crm.yml" in caplog.text


def test_an_unknown_profile_name_lists_the_built_in_ones(tmp_path):
    with pytest.raises(ProfileError, match="built-in profiles: .*maven_crm"):
        load_contract(CONTRACT_PATH, [REPO_ROOT / "config" / "profiles" / "nosuch.yml"])


PARTS_PROFILE = """
sources:
  activities:
    parts:
      - file: Task.csv
        skip: [{where: "IsDeleted = '1'", reason: "deleted task"}]
        columns: {activity_id: Id, account_id: AccountId, occurred_at: ActivityDate,
                  type: {expr: "'task'"}}
      - file: Event.csv
        columns: {activity_id: Id, account_id: AccountId, occurred_at: ActivityDateTime,
                  type: {expr: "'meeting'"}}
"""


def test_two_exports_feed_one_source_each_with_its_own_mapping(tmp_path):
    contract = contract_with(tmp_path, PARTS_PROFILE)
    landing = tmp_path / "landing"
    landing.mkdir()
    (landing / "Task.csv").write_text(
        '"Id","AccountId","ActivityDate","IsDeleted"\n"T1","A1","2026-10-01","0"\n'
        '"T2","A1","2026-10-02","1"\n'
    )
    (landing / "Event.csv").write_text(
        '"Id","AccountId","ActivityDateTime"\n"E1","A2","2026-10-03 10:00:00"\n'
        '"E2","","2026-10-04"\n'
    )
    con = duckdb.connect()
    files = source_files(landing, contract["activities"])
    assert [path.name for _, path in files] == ["Task.csv", "Event.csv"]
    results = load_source(con, files, "run-1")
    assert [
        (r.part, r.rows_read, r.rows_loaded, r.rows_filtered, r.rows_rejected) for r in results
    ] == [
        ("Task.csv", 2, 1, 1, 0),
        ("Event.csv", 2, 1, 0, 1),
    ]
    assert con.execute(
        "select activity_id, type, occurred_at::varchar from raw.activities order by 1"
    ).fetchall() == [
        ("E1", "meeting", "2026-10-03 10:00:00"),
        ("T1", "task", "2026-10-01 00:00:00"),
    ]
    report = con.execute(
        "select part, file_name, rows_read, rows_filtered from raw.load_report order by part"
    ).fetchall()
    assert report == [("Event.csv", "Event.csv", 2, 0), ("Task.csv", "Task.csv", 2, 1)]
    # The next night without Event.csv: the source holds the tasks only, and says why.
    (landing / "Event.csv").unlink()
    results = load_source(con, source_files(landing, contract["activities"]), "run-2")
    assert con.execute("select activity_id from raw.activities").fetchall() == [("T1",)]
    assert results[1].note.startswith("absent: no Event.csv")


def test_a_load_report_of_an_older_warehouse_gains_the_part_column(tmp_path):
    con = duckdb.connect()
    con.execute("create schema raw")
    con.execute(
        "create table raw.load_report (source varchar primary key, file_name varchar, "
        "sha256 varchar, rows_read bigint, rows_loaded bigint, rows_rejected bigint, "
        "rows_in_table bigint, run_id varchar, loaded_at timestamp)"
    )
    con.execute(
        "insert into raw.load_report values ('deals', 'deals.csv', 'x', 1, 1, 0, 1, 'r', now())"
    )
    ensure_meta_tables(con)
    assert con.execute(
        "select source, part, rows_filtered, note from raw.load_report"
    ).fetchall() == [("deals", "", 0, "")]


def test_the_sensor_sees_a_complete_set_under_the_profiles_file_names(tmp_path):
    from pipelines.orchestration import landed_files

    contract = contract_with(
        tmp_path,
        "sources:\n  accounts:\n    file: Account.csv\n    columns: {account_id: Id, name: Name}\n",
    )
    landing = tmp_path / "landing"
    landing.mkdir()
    (landing / "Account.csv").write_text('"Id","Name"\n')
    required = ["accounts", "invoice_lines"]
    assert landed_files(landing, contract, required) is None  # billing still missing
    # With revenue from won deals the required set is accounts and deals.
    assert landed_files(landing, contract, ["accounts"]) == [landing / "Account.csv"]
    (landing / "invoice_lines.csv.gz").write_bytes(b"")
    assert landed_files(landing, contract, required) == [
        landing / "Account.csv",
        landing / "invoice_lines.csv.gz",
    ]


def test_a_filter_whose_columns_a_layout_lacks_is_not_applied_and_said_so(tmp_path):
    """One profile reads Bitrix24's English and Russian exports: a filter naming the
    English column does not refuse the Russian file; it is reported as not applied."""
    contract = contract_with(
        tmp_path,
        "sources:\n  accounts:\n    skip: [{where: \"Source = 'Web form'\", reason: junk}]\n"
        "    columns: {account_id: ID, name: {from: [Company, Компания]}}\n",
    )
    path = tmp_path / "accounts.csv"
    path.write_text("ID;Компания\n1;Альфа\n", encoding="utf-8")
    result = load_export(duckdb.connect(), contract["accounts"], path, "r")
    assert (result.rows_loaded, result.rows_filtered) == (1, 0)
    assert (
        "accounts: filter 'junk' of profile crm.yml not applied: accounts.csv has no column Source"
        in result.warnings
    )
    english = tmp_path / "en.csv"
    english.write_text("ID;Company;Source\n1;Alpha;Web form\n2;Beta;Call\n", encoding="utf-8")
    result = load_export(duckdb.connect(), contract["accounts"], english, "r")
    assert (result.rows_loaded, result.filter_reasons) == (1, {"junk": 1})
