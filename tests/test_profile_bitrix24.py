"""The Bitrix24 profile (config/profiles/bitrix24.yml) on exports in Bitrix24's own
layouts (tests/fixtures/native/bitrix24, see its README): the deal export of the
English interface (UTF-8 with BOM) and of the Russian one (Windows-1251), with the
accounts and contacts taken from the deal export's company and contact columns, the
lead template layout, and the real nightly job on the English folder with revenue
from won deals in RUB, converted with an fx_rates.csv in the contract's layout."""

from __future__ import annotations

import datetime as dt
import shutil
from decimal import ROUND_HALF_UP, Decimal

import duckdb
import pytest
from support import run_exports

from pipelines.ingest.contract import load_contract
from pipelines.ingest.loader import ContractError, RowRules, find_export, load_export
from pipelines.settings import REPO_ROOT

CONTRACT_PATH = REPO_ROOT / "config" / "contract.yml"
PROFILE = REPO_ROOT / "config" / "profiles" / "bitrix24.yml"
FIXTURES = REPO_ROOT / "tests" / "fixtures" / "native" / "bitrix24"
ENGLISH = FIXTURES / "english-ui"
RUSSIAN = FIXTURES / "russian-ui"
AS_OF = dt.date(2026, 11, 30)
CENT = Decimal("0.01")


@pytest.fixture(scope="module")
def contract():
    return load_contract(CONTRACT_PATH, [PROFILE])


def load(contract, source: str, folder, name: str | None = None):
    spec = contract[source]
    path = folder / name if name else find_export(folder, spec)
    con = duckdb.connect()
    return con, load_export(con, spec, path, "r", RowRules())


def counts(result):
    return (result.rows_read, result.rows_loaded, result.rows_filtered, result.rows_rejected)


def test_english_deal_export_loads_with_stages_and_currency_names_mapped(contract):
    con, result = load(contract, "deals", ENGLISH)
    assert result.file_name == "DEAL_20261130_4f1c9a2e_6749a1b2c3d4e.csv"
    assert (result.encoding, result.delimiter) == ("utf-8", ";")
    # 111 (a web form) and 112 (a mail bounce) have no company: rejected as keys.
    assert counts(result) == (15, 13, 0, 2)
    assert result.reject_reasons == {"missing value: account_id is required": 2}
    assert sorted(con.execute("select line from raw.rejects").fetchall()) == [(12,), (13,)]
    # The header's repairs: &amp; undone (then a repeat), the trailing `;`.
    joined = "\n".join(result.warnings)
    assert "header 'Created Date & Time' repeats at column 48" in joined
    assert "'Contact: Are you looking to grow your business on Shopify?' repeats" in joined
    assert "column 194 has no header name: read as 'column194'" in joined
    assert result.unmapped_values == {"stage": {"Negotiations": 1}}
    rows = {
        r[0]: r[1:]
        for r in con.execute(
            "select deal_id, account_id, stage, amount::varchar, currency, probability, "
            "is_closed, created_at::varchar, expected_close_date::varchar from raw.deals"
        ).fetchall()
    }
    assert rows["101"] == ("11", "won", "150000.00", "RUB", 1.0, True, "2026-02-05", "2026-03-20")
    assert rows["102"][1:5] == ("won", "2500.00", "USD", None)  # Probability, % blank
    assert rows["103"][3] == "INR" and rows["108"][3:5] == ("EUR", 0.6)
    assert rows["104"][1:3] == ("lost", "0.00")
    assert rows["105"][1:3] == ("lost", None)  # Analyze failure, Income blank
    assert rows["115"][3] is None  # no currency: the reporting currency downstream
    stages = {deal: row[1] for deal, row in rows.items()}
    assert [stages[d] for d in ("106", "107", "108", "109", "110", "114")] == [
        "first_contact",  # New
        "presentation",  # Preparing documents
        "contract",  # Prepayment invoice
        "contract",  # In progress
        "contract",  # Final invoice
        "first_contact",  # the portal's own "Negotiations": fallback
    ]
    assert rows["106"][5] is False and rows["106"][6] == "2026-11-20"


def test_accounts_are_the_distinct_companies_of_the_deal_export(contract):
    con, result = load(contract, "accounts", ENGLISH)
    assert counts(result) == (15, 6, 7, 2)
    assert result.filter_reasons == {
        "repeats line 2": 2,
        "repeats line 3": 2,
        "repeats line 7": 2,
        "repeats line 4": 1,
    }
    assert result.reject_reasons == {"missing value: account_id is required": 2}
    rows = con.execute(
        "select account_id, name, industry, owner, created_at::varchar from raw.accounts "
        "order by account_id"
    ).fetchall()
    assert rows[0] == ("11", "Romashka LLC", "Manufacturing", "Olga Ivanova", "2022-03-14")
    # One placeholder name, three company ids: three accounts, keyed by Company: ID.
    assert [(r[0], r[1]) for r in rows[3:]] == [
        ("14", "Private person"),
        ("15", "Private person"),
        ("16", "Private person"),
    ]


def test_contacts_are_the_distinct_people_of_the_deal_export(contract):
    con, result = load(contract, "contacts", ENGLISH)
    # 7 deals have no contact (2 of them no company either): rejected as keys.
    assert counts(result) == (15, 3, 5, 7)
    assert result.reject_reasons == {
        "missing value: contact_id is required": 7,
        "missing value: account_id is required": 2,
    }
    assert con.execute(
        "select contact_id, account_id, full_name, title, email, phone from raw.contacts "
        "order by 1"
    ).fetchall() == [
        ("201", "11", "Ivan Petrov", "Procurement manager", "petrov@romashka.example",
         "+7 495 555 0101"),
        ("202", "12", "Priya Shah", "Director", "priya@acme.example", None),
        ("204", "14", "Anil Kumar", None, None, None),
    ]  # fmt: skip


def test_leads_in_the_template_layout_skip_junk_and_converted(contract):
    con, result = load(contract, "leads", ENGLISH)
    assert result.file_name == "LEAD_20261130_2c7d5e1a_6749a1b2c3d50.csv"
    assert counts(result) == (9, 7, 2, 0)
    assert result.filter_reasons == {
        "junk lead (STATUS_ID JUNK)": 1,
        "converted lead: already a deal/company": 1,
    }
    assert result.unmapped_values == {"source": {"UC_4KX2Q1": 1}}
    rows = {
        r[0]: r[1:]
        for r in con.execute(
            "select lead_id, company_name, source, budget::varchar, currency, contact_title "
            "from raw.leads"
        ).fetchall()
    }
    assert rows["Volga Logistics"] == (
        "Volga Logistics", "call_centre", "1200000.00", "RUB", "CEO",
    )  # fmt: skip
    assert {k: v[1] for k, v in rows.items()} == {
        "Sunrise Hotels": "web_form",
        "Volga Logistics": "call_centre",
        "Delta Foods": "referral",
        "Expo contact 17": "event",
        "Blue Ocean Ltd": "inbound_request",  # ADVERTISING
        "Callback request": "call_centre",
        "Partner referral: Orion": "inbound_request",  # the portal's UC_4KX2Q1: fallback
    }
    assert rows["Partner referral: Orion"][2] == "75000.50"


def test_russian_interface_deal_export_in_windows_1251_reads_through_the_same_profile(
    contract,
):
    con, result = load(contract, "deals", RUSSIAN)
    assert (result.encoding, result.delimiter) == ("cp1251", ";")
    assert counts(result) == (12, 11, 0, 1)  # 310, a mail bounce, has no company
    assert result.unmapped_values == {"stage": {"Переговоры": 1}}
    assert any("header 'Дата & время встречи' repeats" in w for w in result.warnings)
    rows = {
        r[0]: r[1:]
        for r in con.execute(
            "select deal_id, account_id, stage, amount::varchar, currency, probability, "
            "is_closed, created_at::varchar, expected_close_date::varchar from raw.deals"
        ).fetchall()
    }
    assert rows["301"] == ("21", "won", "240000.00", "RUB", 1.0, True, "2026-01-12", "2026-02-15")
    assert rows["302"][1:4] == ("won", "1500.00", "USD")
    assert rows["307"][1:5] == ("contract", "1000.00", "EUR", 0.6)  # Счёт на предоплату
    assert [rows[d][1] for d in ("303", "304", "305", "306", "308", "309", "312")] == [
        "lost", "lost", "first_contact", "presentation", "contract", "contract",
        "first_contact",
    ]  # fmt: skip
    assert rows["305"][5] is False  # Сделка закрыта: Нет

    con, accounts = load(contract, "accounts", RUSSIAN)
    assert counts(accounts) == (12, 5, 6, 1)
    assert con.execute("select account_id, name from raw.accounts order by 1").fetchall() == [
        ("21", "ООО «Ромашка»"),
        ("22", "АО «Вектор»"),
        ("23", "ИП Сидоров"),
        ("24", "Частное лицо"),
        ("25", "Частное лицо"),
    ]


def test_a_company_list_without_ids_cannot_feed_accounts(contract):
    """The company import template layout has no ID: deals could not reference its
    companies. The profile does not pick COMPANY_* files up; given one, it refuses it."""
    assert find_export(RUSSIAN, contract["accounts"]).name.startswith("DEAL_")
    with pytest.raises(ContractError) as refused:
        load(contract, "accounts", RUSSIAN, "COMPANY_20261130_5e6f7a8b_6749a1b2c3d70.csv")
    message = str(refused.value)
    assert "missing required column(s) 'Company: ID' or 'Компания: ID'" in message
    assert "columns found: Название компании, Логотип" in message


def rub(amount: str, rate_to_reporting: str | None = None, units: str | None = None) -> Decimal:
    if units:
        return (Decimal(amount) / Decimal(units)).quantize(CENT, rounding=ROUND_HALF_UP)
    value = Decimal(amount) * Decimal(rate_to_reporting or "1")
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def test_the_nightly_job_segments_the_portal_from_its_won_deals_in_rubles(tmp_path):
    exports = tmp_path / "exports"
    shutil.copytree(ENGLISH, exports)  # the deal and lead exports, and fx_rates.csv
    night = run_exports(
        tmp_path,
        exports,
        profile="bitrix24",
        revenue_source="won_deals",
        reporting_currency="RUB",
        as_of=AS_OF,
    )
    assert night.success, night.explain()
    with duckdb.connect(str(night.published), read_only=True) as con:
        segments = con.execute(
            "select account_id, account_name, revenue_t12m from client_segments order by 1"
        ).fetchall()
    # By hand, from the won deals dated (assumed close date) after 2025-11-30, at the
    # rate of fx_rates.csv in force on that date:
    assert segments == [
        ("11", "Romashka LLC", rub("150000.00")),  # 101, RUB
        ("12", "Acme Exports", rub("2500.00", "90.1234")),  # 102, 15.07.2026: July's USD rate
        ("13", "Shakti Textiles", rub("100000.00", units="0.9197")),  # 103, INR per RUB
        ("14", "Private person", rub("30000.00")),  # 115, no currency: RUB
        ("16", "Private person", Decimal("0.00")),  # 113, 10.11.2025: before the window
    ]
    assert [s[2] for s in segments[1:3]] == [Decimal("225308.50"), Decimal("108731.11")]
