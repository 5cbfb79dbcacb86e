"""The Salesforce profile (config/profiles/salesforce.yml) on a weekly Data Export in
Salesforce's own layouts (tests/fixtures/native/salesforce, see its README): one CSV per
object, ISO-8859-1 and UTF-8 files side by side, OpportunityHistory as the deals' stage
history; and the real nightly job on that folder with revenue from won opportunities in
MXN, COP, PEN and USD, reported in USD (the org's corporate currency) through
CurrencyType's ConversionRate."""

from __future__ import annotations

import datetime as dt
import shutil
from decimal import ROUND_HALF_UP, Decimal

import duckdb
import pytest
import yaml
from support import run_exports

from pipelines.ingest.contract import load_contract
from pipelines.ingest.loader import RowRules, find_export, load_export, load_source, source_files
from pipelines.settings import REPO_ROOT

CONTRACT_PATH = REPO_ROOT / "config" / "contract.yml"
PROFILE = REPO_ROOT / "config" / "profiles" / "salesforce.yml"
FIXTURES = REPO_ROOT / "tests" / "fixtures" / "native" / "salesforce"
LAYOUTS = REPO_ROOT.parent / "shared" / "realdata" / "native_layouts" / "salesforce"
AS_OF = dt.date(2026, 11, 30)

A1, A2, A3 = "0015e00000MxNorAAA", "0015e00000MxDisAAA", "0015e00000CoExiAAA"
A4, A5, A6 = "0015e00000PeAndAAA", "0015e00000UsPacAAA", "0015e00000AgNanAAA"
DELETED = "deleted in Salesforce (IsDeleted = 1)"
C1, C3, C5 = "0035e00000Ct001AAA", "0035e00000Ct003AAA", "0035e00000Ct005AAA"
NO_STAGE_CHANGE = (
    "no stage change (FromOpportunityStageName = StageName): amount, probability or close date"
)
UNMAPPED_STAGE = (
    "stage not mapped by the profile (the org's own): add it to the stage map and to this "
    "filter's list in your copy of the profile"
)


@pytest.fixture(scope="module")
def contract():
    return load_contract(CONTRACT_PATH, [PROFILE])


def counts(result):
    return (result.rows_read, result.rows_loaded, result.rows_filtered, result.rows_rejected)


def load(contract, source, landing=FIXTURES):
    spec = contract[source]
    path = find_export(landing, spec)
    con = duckdb.connect()
    return con, load_export(con, spec, path, "r", RowRules())


@pytest.mark.skipif(not LAYOUTS.is_dir(), reason="native_layouts not on this machine")
@pytest.mark.parametrize(
    "name",
    [
        "Account",
        "Contact",
        "Opportunity",
        "OpportunityHistory",
        "Lead",
        "Task",
        "Event",
        "CurrencyType",
    ],
)
def test_fixture_headers_are_byte_copies_of_the_real_exports(name):
    header = (LAYOUTS / f"{name}.header.csv").read_bytes().split(b"\n")[0] + b"\n"
    assert (FIXTURES / f"{name}.csv").read_bytes().startswith(header)


def test_account_export_loads_as_accounts(contract):
    con, result = load(contract, "accounts")
    assert result.file_name == "Account.csv"
    # 10 records over 11 lines (a quoted line break in BillingStreet); 1 deleted.
    assert counts(result) == (10, 9, 1, 0)
    assert result.filter_reasons == {DELETED: 1}
    assert result.encoding == "iso-8859-1"  # Nuevo León as the byte 0xF3
    rows = {
        r[0]: r[1:]
        for r in con.execute(
            "select account_id, name, industry, employees, annual_revenue, city, region, "
            "parent_account_id, owner, potential, created_at from raw.accounts"
        ).fetchall()
    }
    assert rows[A1] == (
        "Cervecería del Norte S.A. de C.V.", "Food & Beverage", 1200, None, "Monterrey",
        "Nuevo León", None, "0055e00000Us001AAA", "high", dt.date(2021, 3, 4),
    )  # fmt: skip
    assert rows[A2][6] == A1 and rows[A2][8] == "medium"  # ParentId; Rating Warm
    # BillingState empty: the country is the region; Rating Cold is low.
    assert rows[A3][4:6] == ("Bogotá", "Colombia") and rows[A3][8] == "low"
    # The account after the multi-line street; a custom Rating (Tibio) is unknown.
    assert rows[A4][0] == "Inversiones Andinas S.A.C." and rows[A4][8] is None
    assert rows[A5][0] == 'Pacific Coast Media, LLC ("PCM")' and rows[A5][5] == "CA"
    assert rows[A6][0] == "Agencia Creativa Ñandú"
    # Store locations load (their record type id is the org's own); none is a client
    # unless it has revenue.
    stores = [k for k in rows if k.startswith("0015e00000St")]
    assert len(stores) == 3 and all(rows[s][6] in (A1, A3) for s in stores)
    assert "0015e00000DupXXAAA" not in rows


def test_an_orgs_store_record_type_is_skipped_by_the_documented_recipe(contract, tmp_path):
    """docs/systems/salesforce.md: copy the profile, add a skip for the record type id."""
    profile = yaml.safe_load(PROFILE.read_text(encoding="utf-8"))
    profile["sources"]["accounts"]["skip"].append(
        {"where": "RecordTypeId = '0125e00000RtStoAAA'", "reason": "store location record type"}
    )
    own = tmp_path / "our_salesforce.yml"
    own.write_text(yaml.safe_dump(profile, allow_unicode=True), encoding="utf-8")
    spec = load_contract(CONTRACT_PATH, [own])["accounts"]
    con = duckdb.connect()
    result = load_export(con, spec, find_export(FIXTURES, spec), "r", RowRules())
    assert counts(result) == (10, 6, 4, 0)
    assert result.filter_reasons == {DELETED: 1, "store location record type": 3}
    ids = {r[0] for r in con.execute("select account_id from raw.accounts").fetchall()}
    assert ids == {A1, A2, A3, A4, A5, A6}


def test_contact_export_loads_as_contacts(contract):
    con, result = load(contract, "contacts")
    assert counts(result) == (8, 6, 2, 0)
    assert result.encoding == "utf-8"
    assert result.filter_reasons == {
        DELETED: 1,
        "private contact: no account (AccountId empty or 000000000000000AAA)": 1,
    }
    rows = con.execute(
        "select contact_id, account_id, full_name, title, role, email, phone "
        "from raw.contacts order by 1"
    ).fetchall()
    assert rows[0] == (
        "0035e00000Ct001AAA", A1, "José Núñez", "Director Comercial", None,
        "jose.nunez@cerveceria-norte.mx", "+52 81 8328 1000",
    )  # fmt: skip
    # MiddleName joins the name; Phone empty: the mobile.
    assert rows[1][2] == "María Fernanda López" and rows[1][6] == "+52 81 1234 5678"
    assert rows[5] == ("0035e00000Ct006AAA", A6, "Recepción", None, None, None, None)
    assert all(r[4] is None for r in rows)  # no buying role on a Salesforce Contact


def test_opportunity_export_loads_as_deals(contract):
    raw = (FIXTURES / "Opportunity.csv").read_bytes()
    # ISO-8859-1 with one stray UTF-8 sequence (in a Description) and a lost `?`.
    assert b"Dise\xf1o Propuesta" in raw and "Campaña".encode() in raw
    con, result = load(contract, "deals")
    assert result.encoding == "iso-8859-1"
    assert counts(result) == (22, 19, 2, 1)
    assert result.filter_reasons == {
        DELETED: 1,
        "test opportunity (name starts with Test or Prueba)": 1,
    }
    # The null id as AccountId: an opportunity of no account.
    assert result.reject_reasons == {"missing value: account_id is required": 1}
    assert result.unmapped_values == {
        "stage": {
            "Diseño Propuesta": 1, "Firmas": 1, "Interes": 1, "Negociación": 1,
            "Presentación Propuesta": 1,
        }
    }  # fmt: skip
    warning = next(w for w in result.warnings if w.startswith("deals.stage"))
    assert "loaded as 'first_contact'" in warning and "'Diseño Propuesta' (1)" in warning
    rows = {
        r[0][-6:-3]: r[1:]
        for r in con.execute(
            "select deal_id, account_id, stage, amount, currency, probability, created_at, "
            "expected_close_date, closed_at, is_won, is_closed from raw.deals"
        ).fetchall()
    }
    assert rows["001"] == (
        A1, "won", Decimal("182000.00"), "MXN", 1.0, dt.date(2025, 9, 1), None,
        dt.date(2026, 2, 27), True, True,
    )  # fmt: skip
    assert rows["002"][2] == Decimal("9225.23")  # 9225.225, half-up
    assert rows["005"][2:4] == (Decimal("4500022.50"), "COP")
    assert rows["009"][1:3] == ("won", None)  # blank Amount: unknown, not 0
    assert rows["010"][1:3] == ("lost", Decimal("0.00"))
    assert rows["022"][1] == "lost"  # a custom closed stage (Perdida): IsClosed says lost
    # Open custom stages: first_contact at their own probability, dated expected close.
    assert rows["011"][1:] == (
        "first_contact", Decimal("91000.00"), "MXN", 0.6, dt.date(2025, 9, 1),
        dt.date(2027, 1, 31), None, False, False,
    )  # fmt: skip
    assert rows["013"][4] == 0.9 and rows["015"][2] == Decimal("12000.00")
    assert rows["016"][1:3] == ("first_contact", None)  # Prospecting, no amount yet
    assert rows["017"][1] == "negotiation" and rows["018"][1] == "negotiation"
    assert "019" not in rows and "020" not in rows and "021" not in rows


def test_the_test_opportunity_filter_reads_the_name_start_only(contract, tmp_path):
    header = (FIXTURES / "Opportunity.csv").read_text(encoding="iso-8859-1").split("\n")[0]
    names = ["prueba piloto", "Testing kits for labs", "Contest sponsorship", " TEST: demo"]
    cols = header.replace('"', "").split(",")
    lines = [header]
    for i, name in enumerate(names):
        row = dict.fromkeys(cols, "")
        row.update(Id=f"OPP{i}", IsDeleted="0", AccountId=A1, Name=name, StageName="Prospecting",
                   Amount="1", Probability="10", IsClosed="0", IsWon="0")  # fmt: skip
        lines.append(",".join(f'"{row[c]}"' for c in cols))
    (tmp_path / "Opportunity.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    con, result = load(contract, "deals", tmp_path)
    assert counts(result) == (4, 2, 2, 0)
    kept = con.execute("select deal_id from raw.deals order by 1").fetchall()
    assert kept == [("OPP1",), ("OPP2",)]


def stages(con, deal):
    """A deal's path in raw.deal_stage_history: (stage, changed_at) in time order."""
    return con.execute(
        "select stage, changed_at from raw.deal_stage_history where deal_id = ? order by 2",
        [f"0065e00000Op{deal}AAA"],
    ).fetchall()


def test_opportunity_history_loads_as_deal_stage_history(contract):
    raw = (FIXTURES / "OpportunityHistory.csv").read_bytes()
    assert b"Dise\xf1o Propuesta" in raw and b"Negociaci\xf3n" in raw  # ISO-8859-1
    con, result = load(contract, "deal_stage_history")
    assert (result.file_name, result.encoding) == ("OpportunityHistory.csv", "iso-8859-1")
    assert counts(result) == (25, 19, 6, 0)
    # Op019's two rows went to the recycle bin with it; Op001's close-date change entered
    # no stage; Negociación, Diseño Propuesta and Perdida are the org's own stages.
    assert result.filter_reasons == {UNMAPPED_STAGE: 3, DELETED: 2, NO_STAGE_CHANGE: 1}
    assert result.reject_reasons == {} and result.unmapped_values == {}
    at = dt.datetime
    # Won: the standard path; Proposal/Price Quote and Negotiation/Review are both
    # negotiation (two entries); the close-date change of 2026-02-02 is not one.
    assert stages(con, "001") == [
        ("first_contact", at(2025, 9, 1, 11, 20)),
        ("needs_analysis", at(2025, 9, 15, 10, 2, 41)),
        ("presentation", at(2025, 10, 20, 17, 45, 9)),
        ("negotiation", at(2025, 12, 3, 9, 30)),
        ("negotiation", at(2026, 1, 14, 12, 10, 55)),
        ("won", at(2026, 2, 27, 16, 41, 30)),
    ]
    assert stages(con, "010") == [
        ("first_contact", at(2025, 9, 1, 11, 20)),
        ("needs_analysis", at(2026, 1, 12, 15, 0)),
        ("lost", at(2026, 5, 5, 10, 27, 44)),
    ]
    # Stages skipped: from Prospecting straight to Negotiation/Review.
    assert stages(con, "017") == [
        ("first_contact", at(2025, 9, 1, 11, 20)),
        ("negotiation", at(2026, 10, 6, 14, 12)),
    ]
    # Objections sent it back to Proposal/Price Quote: negotiation entered twice.
    assert stages(con, "018") == [
        ("first_contact", at(2025, 9, 1, 11, 20)),
        ("presentation", at(2026, 9, 8, 9, 15, 27)),
        ("negotiation", at(2026, 10, 1, 11, 40)),
        ("objections", at(2026, 10, 19, 16, 5, 12)),
        ("negotiation", at(2026, 11, 9, 10, 0)),
    ]
    # The org's own stages are not guessed: only the deal's Prospecting row loads.
    for deal in ("011", "015", "022"):
        assert stages(con, deal) == [("first_contact", at(2025, 9, 1, 11, 20))], deal
    assert stages(con, "019") == []  # deleted
    # The filtered rows, by line (the header is line 1): 7 Op001's close-date change,
    # 20 Negociación, 22 Diseño Propuesta, 24 Perdida, 25-26 Op019 (IsDeleted = 1).
    loaded = con.execute("select _source_line from raw.deal_stage_history").fetchall()
    lines = {line for (line,) in loaded}
    assert set(range(2, 27)) - lines == {7, 20, 22, 24, 25, 26}


def history_file(folder, rows: list[dict[str, str]]) -> None:
    """An OpportunityHistory.csv in the fixture's layout with these fields set."""
    header = (FIXTURES / "OpportunityHistory.csv").read_text(encoding="iso-8859-1")
    header = header.split("\n")[0]
    cols = header.replace('"', "").split(",")
    lines = [header]
    for i, fields in enumerate(rows):
        row = dict.fromkeys(cols, "")
        row.update(Id=f"OH{i}", OpportunityId=f"OPP{i}", IsDeleted="0")
        row.update(fields)
        lines.append(",".join(f'"{row[c]}"' for c in cols))
    (folder / "OpportunityHistory.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")


def test_every_stage_the_history_maps_loads_and_no_other(contract, tmp_path):
    """The skip list of known stages and the map name the same stages; the deals' map
    entries mean the same in the history."""
    profile = yaml.safe_load(PROFILE.read_text(encoding="utf-8"))["sources"]
    history_map = profile["deal_stage_history"]["columns"]["stage"]["map"]
    deals_map = profile["deals"]["columns"]["stage"]["map"]
    assert history_map == {**deals_map, "Closed Won": "won", "Closed Lost": "lost"}
    others = ["Firmas", "Interes", "Perdida", "closed won", "Prospect"]
    names = [*history_map, *others]
    # One deal per stage, padded as a careless export might be: trimmed before matching.
    history_file(
        tmp_path, [{"StageName": f" {n} ", "CreatedDate": "2026-01-05 09:00:00"} for n in names]
    )
    con, result = load(contract, "deal_stage_history", tmp_path)
    assert counts(result) == (len(names), len(history_map), len(others), 0)
    assert result.filter_reasons == {UNMAPPED_STAGE: len(others)}
    loaded = dict(con.execute("select deal_id, stage from raw.deal_stage_history").fetchall())
    assert loaded == {f"OPP{i}": history_map[name] for i, name in enumerate(history_map)}


def test_an_orgs_own_stages_load_by_the_documented_recipe(contract, tmp_path):
    """docs/systems/salesforce.md: in a copy of the profile, add the org's stage to the
    stage map and to the unmapped-stage filter's list."""
    own_stages = {"Negociación": "negotiation", "Diseño Propuesta": "presentation"}
    own_stages["Perdida"] = "lost"
    profile = yaml.safe_load(PROFILE.read_text(encoding="utf-8"))
    history = profile["sources"]["deal_stage_history"]
    history["columns"]["stage"]["map"].update(own_stages)
    rule = next(s for s in history["skip"] if s["reason"] == UNMAPPED_STAGE)
    listed = ", ".join(f"'{s}'" for s in own_stages)
    rule["where"] = rule["where"].replace("'Closed Lost')", f"'Closed Lost', {listed})")
    own = tmp_path / "our_salesforce.yml"
    own.write_text(yaml.safe_dump(profile, allow_unicode=True), encoding="utf-8")
    spec = load_contract(CONTRACT_PATH, [own])["deal_stage_history"]
    con = duckdb.connect()
    result = load_export(con, spec, find_export(FIXTURES, spec), "r", RowRules())
    assert counts(result) == (25, 22, 3, 0)
    assert result.filter_reasons == {DELETED: 2, NO_STAGE_CHANGE: 1}
    assert [s for s, _ in stages(con, "011")] == ["first_contact", "negotiation"]
    assert [s for s, _ in stages(con, "015")] == ["first_contact", "presentation"]
    assert [s for s, _ in stages(con, "022")] == ["first_contact", "lost"]


def test_a_history_row_without_a_stage_change_is_filtered_only_when_it_says_so(contract, tmp_path):
    """FromOpportunityStageName is the stage before the change: equal to StageName, the
    row changed an amount, probability or close date; empty (a deal's first row, or
    older history), the row loads."""
    history_file(
        tmp_path,
        [
            {"StageName": "Prospecting", "CreatedDate": "2026-01-05 09:00:00"},
            {"StageName": "Qualification", "FromOpportunityStageName": "Prospecting",
             "CreatedDate": "2026-01-06 09:00:00"},
            {"StageName": "Qualification", "FromOpportunityStageName": "Qualification",
             "CreatedDate": "2026-01-07 09:00:00", "PrevAmount": "100", "Amount": "120"},
            {"StageName": "Qualification", "CreatedDate": "2026-01-08 09:00:00"},
        ],
    )  # fmt: skip
    con, result = load(contract, "deal_stage_history", tmp_path)
    assert counts(result) == (4, 3, 1, 0)
    assert result.filter_reasons == {NO_STAGE_CHANGE: 1}
    kept = con.execute("select deal_id from raw.deal_stage_history order by 1").fetchall()
    assert kept == [("OPP0",), ("OPP1",), ("OPP3",)]


def test_lead_export_loads_as_leads(contract):
    con, result = load(contract, "leads")
    assert counts(result) == (10, 7, 3, 0)
    assert result.filter_reasons == {
        DELETED: 1,
        "converted lead (IsConverted = 1): now an account": 1,
        "disqualified lead (Status Closed - Not Converted)": 1,
    }
    assert result.unmapped_values == {"source": {"LinkedIn": 1}}
    assert any("loaded as 'cold_list'" in w and "'LinkedIn' (1)" in w for w in result.warnings)
    rows = con.execute(
        "select lead_id, company_name, industry, employees, region, source, currency, "
        "contact_title, created_at from raw.leads order by 1"
    ).fetchall()
    assert rows[0] == (
        "00Q5e00000Ld001AAA", "Grupo Industrial Saltillo", "Manufacturing", 450, "Coahuila",
        "web_form", "MXN", "Director de Operaciones", dt.date(2026, 10, 2),
    )  # fmt: skip
    assert [r[5] for r in rows] == [
        "web_form",
        "call_centre",
        "referral",
        "cold_list",
        "event",
        "cold_list",
        None,
    ]  # Web, Phone Inquiry, Partner Referral, Purchased List, Trade Show, LinkedIn, Other
    assert rows[1][4] == "Peru"  # no State: the country


def test_task_and_event_exports_load_as_activities(contract):
    spec = contract["activities"]
    con = duckdb.connect()
    task, event = load_source(con, source_files(FIXTURES, spec), "r", RowRules())
    assert (task.part, task.file_name, counts(task)) == ("Task.csv", "Task.csv", (8, 5, 3, 0))
    assert task.filter_reasons == {
        DELETED: 1,
        "open task (IsClosed = 0): not done yet": 1,
        "task of no account (a lead's, or unrelated)": 1,
    }
    assert (event.part, counts(event)) == ("Event.csv", (8, 4, 4, 0))
    assert event.filter_reasons == {
        DELETED: 1,
        "an invitee's copy of a group event (IsChild = 1)": 1,
        "recurring-event series (IsRecurrence = 1): its occurrences are rows of their own": 1,
        "event of no account (a lead's, or unrelated)": 1,
    }
    rows = con.execute(
        "select activity_id, account_id, occurred_at, type, contact_id "
        "from raw.activities order by 1"
    ).fetchall()
    assert rows == [
        # Completed: when it was done; account from AccountId.
        ("00T5e00000Tk001AAA", A1, dt.datetime(2026, 11, 20, 17, 32), "Call", C1),
        # AccountId empty: the account WhatId.
        ("00T5e00000Tk002AAA", A3, dt.datetime(2026, 10, 3, 8, 15), "Email", None),
        # No ActivityDate, no CompletedDateTime: when it was logged.
        ("00T5e00000Tk006AAA", A3, dt.datetime(2026, 9, 14, 15, 3, 27), "Call", C3),
        # AccountId the null id: the account WhatId.
        ("00T5e00000Tk007AAA", A5, dt.datetime(2026, 8, 21, 18, 0), "Call", C5),
        ("00T5e00000Tk008AAA", A2, dt.datetime(2026, 7, 7, 13, 0), "Meeting", None),
        ("00U5e00000Ev001AAA", A1, dt.datetime(2026, 10, 5, 16, 0), "Meeting", C1),
        # All-day: ActivityDate; a blank Type is a meeting.
        ("00U5e00000Ev002AAA", A3, dt.datetime(2026, 9, 1), "Meeting", None),
        ("00U5e00000Ev006AAA", A4, dt.datetime(2026, 11, 23, 10, 0), "Meeting", None),
        # A planned event loads: nothing in the file says it has not happened yet.
        ("00U5e00000Ev007AAA", A5, dt.datetime(2027, 1, 10, 17, 0), "Meeting", C5),
    ]  # fmt: skip


def test_currency_type_loads_as_units_per_corporate_unit(contract):
    spec = contract["fx_rates"]
    con = duckdb.connect()
    current, dated = load_source(con, source_files(FIXTURES, spec), "r", RowRules())
    assert (current.file_name, counts(current)) == ("CurrencyType.csv", (5, 5, 0, 0))
    assert (dated.file_name, counts(dated)) == ("DatedConversionRate.csv", (0, 0, 0, 0))
    assert "fx_rates: DatedConversionRate.csv holds a header and no rows" in dated.warnings
    rows = con.execute(
        "select currency, rate_date, rate_to_reporting, units_per_reporting::varchar "
        "from raw.fx_rates order by 1"
    ).fetchall()
    assert rows == [
        ("COP", dt.date(2000, 1, 1), None, "4500.000000000000000000"),
        ("EUR", dt.date(2000, 1, 1), None, "0.920000000000000000"),
        ("MXN", dt.date(2000, 1, 1), None, "18.200000000000000000"),
        ("PEN", dt.date(2000, 1, 1), None, "3.700000000000000000"),
        ("USD", dt.date(2000, 1, 1), None, "1.000000000000000000"),  # IsCorporate = 1
    ]


def test_dated_conversion_rates_replace_and_follow_the_current_rate(contract, tmp_path):
    """With advanced currency management: the first dated period (from 0001-01-01) takes
    CurrencyType's place from 2000-01-01; a later period starts on its StartDate."""
    shutil.copyfile(FIXTURES / "CurrencyType.csv", tmp_path / "CurrencyType.csv")
    header = (FIXTURES / "DatedConversionRate.csv").read_text(encoding="utf-8")
    (tmp_path / "DatedConversionRate.csv").write_text(
        header
        + '"04w5e00000Dc001AAA","MXN","0001-01-01","2026-07-01","19.75","2019-01-10 12:00:00",'
        '"0055e00000Us001AAA","2026-07-01 00:00:00","0055e00000Us001AAA","2026-07-01 00:00:00"\n'
        '"04w5e00000Dc002AAA","MXN","2026-07-01","9999-12-31","18.2","2026-07-01 00:00:00",'
        '"0055e00000Us001AAA","2026-07-01 00:00:00","0055e00000Us001AAA","2026-07-01 00:00:00"\n',
        encoding="utf-8",
    )
    con = duckdb.connect()
    spec = contract["fx_rates"]
    current, dated = load_source(con, source_files(tmp_path, spec), "r", RowRules())
    assert counts(current) == (5, 5, 0, 0) and counts(dated) == (2, 2, 0, 0)
    rows = con.execute(
        "select rate_date, units_per_reporting::double, _source_file from raw.fx_rates "
        "where currency = 'MXN' order by 1"
    ).fetchall()
    assert rows == [
        (dt.date(2000, 1, 1), 19.75, "DatedConversionRate.csv"),
        (dt.date(2026, 7, 1), 18.2, "DatedConversionRate.csv"),
    ]
    assert con.execute("select count(*) from raw.fx_rates").fetchone() == (6,)


def test_product2_export_loads_as_products(contract):
    con, result = load(contract, "products")
    assert counts(result) == (5, 4, 1, 0)
    assert result.filter_reasons == {DELETED: 1}
    rows = con.execute("select product_code, name, family from raw.products order by 1").fetchall()
    assert rows == [
        ("01t5e00000Pr003AAA", "Instalación en tienda", "Services"),  # no ProductCode: its Id
        ("DS-KIOSK", "Kiosco interactivo (descontinuado)", "Digital Signage"),
        ("DS-LED55", 'Pantalla LED 55"', "Digital Signage"),
        ("MED-PLAN-M", "Plan de medios mensual", "Media"),
    ]


def to_usd(amount: str, units_per_usd: str) -> Decimal:
    """By hand: the amount (cents, half-up) divided by ConversionRate, half-up to cents."""
    cents = Decimal(amount).quantize(Decimal("0.01"), ROUND_HALF_UP)
    return (cents / Decimal(units_per_usd)).quantize(Decimal("0.01"), ROUND_HALF_UP)


def test_nightly_run_on_a_salesforce_export_with_revenue_from_won_deals(tmp_path):
    landing = tmp_path / "landing"
    landing.mkdir()
    for path in FIXTURES.glob("*.csv"):
        shutil.copyfile(path, landing / path.name)
    night = run_exports(
        tmp_path,
        landing,
        profile="salesforce",
        revenue_source="won_deals",  # CRM only: no billing exports
        reporting_currency="USD",  # the org's corporate currency (IsCorporate)
        as_of=AS_OF,
    )
    assert night.success, night.explain()
    with duckdb.connect(str(night.published), read_only=True) as con:
        segments = con.execute(
            "select account_id, account_name, revenue_t12m from client_segments order by 1"
        ).fetchall()
        report = con.execute(
            "select source, file_name, rows_read, rows_loaded, rows_filtered, rows_rejected "
            "from load_report where file_name is not null order by 1, 2"
        ).fetchall()
        flags = {r[0] for r in con.execute("select distinct flag from retention_risks").fetchall()}
    # Salesforce contacts carry no role: decision_maker_lost cannot be told, so it is
    # skipped (the run log says why) instead of firing on every client.
    assert "decision_maker_lost" not in flags
    assert any(
        "decision_maker_lost skipped: no row of tonight's contacts export" in w
        for w in night.warnings
    ), night.warnings
    # By hand, won opportunities closed in (2025-11-30, 2026-11-30], each converted with
    # CurrencyType's ConversionRate (USD per 1: MXN 18.2, COP 4500, PEN 3.7):
    #   A1 MXN 182000 (Feb) + 9225.225 -> 9225.23 (Jun)      = 10000.00 + 506.88
    #   A2 MXN 45500 closed 2025-10-15: a client of the 24 months, 0 this year
    #   A3 COP 450000000 (Sep) + 4500022.50 on as_of          = 100000.00 + 1000.01 (half-up
    #      of 1000.005)
    #   A4 PEN 37000 (Apr) + 1234.50 (May)                    = 10000.00 + 333.65
    #   A5 USD 25000.50; its won deal without an amount is excluded; the won TEST and
    #      the deleted won deal (999999 MXN) are filtered. A6 has no won deal.
    assert to_usd("4500022.5", "4500") == Decimal("1000.01")
    assert segments == [
        (A3, "Almacenes Éxito Regional S.A.S.", to_usd("450000000", "4500") + Decimal("1000.01")),
        (A2, "Distribuidora del Norte", Decimal("0.00")),
        (A1, "Cervecería del Norte S.A. de C.V.",
         to_usd("182000", "18.2") + to_usd("9225.225", "18.2")),
        (A4, "Inversiones Andinas S.A.C.", to_usd("37000", "3.7") + to_usd("1234.5", "3.7")),
        (A5, 'Pacific Coast Media, LLC ("PCM")', Decimal("25000.50")),
    ]  # fmt: skip
    assert [s[2] for s in segments] == [
        Decimal("101000.01"), Decimal("0.00"), Decimal("10506.88"), Decimal("10333.65"),
        Decimal("25000.50"),
    ]  # fmt: skip
    assert report == [
        ("accounts", "Account.csv", 10, 9, 1, 0),
        ("activities", "Event.csv", 8, 4, 4, 0),
        ("activities", "Task.csv", 8, 5, 3, 0),
        ("contacts", "Contact.csv", 8, 6, 2, 0),
        ("deal_stage_history", "OpportunityHistory.csv", 25, 19, 6, 0),
        ("deals", "Opportunity.csv", 22, 19, 2, 1),
        ("fx_rates", "CurrencyType.csv", 5, 5, 0, 0),
        ("fx_rates", "DatedConversionRate.csv", 0, 0, 0, 0),
        ("leads", "Lead.csv", 10, 7, 3, 0),
        ("products", "Product2.csv", 5, 4, 1, 0),
    ]
