"""The amoCRM profile (config/profiles/amocrm.yml) on list exports in amoCRM's own
layout (tests/fixtures/native/amocrm: the deals export in UTF-8 with BOM and `,`, the
contacts-and-companies export in Windows-1251 with `;`), and the real nightly job on
them for a CRM-only company: revenue from won deals, in roubles."""

from __future__ import annotations

import csv
import datetime as dt
import io
import shutil
from decimal import Decimal

import duckdb
import pytest
from support import run_exports

from pipelines.ingest.contract import load_contract
from pipelines.ingest.loader import RowRules, find_export, load_export
from pipelines.settings import REPO_ROOT

CONTRACT_PATH = REPO_ROOT / "config" / "contract.yml"
PROFILE = REPO_ROOT / "config" / "profiles" / "amocrm.yml"
FIXTURES = REPO_ROOT / "tests" / "fixtures" / "native" / "amocrm"
AS_OF = dt.date(2026, 11, 30)
ROMASHKA, VEKTOR, TECHNO = 'ООО "Ромашка"', "АО «Вектор»", 'ООО "Техностиль"'


@pytest.fixture(scope="module")
def contract():
    return load_contract(CONTRACT_PATH, [PROFILE])


def load(contract, source: str):
    con = duckdb.connect()
    path = find_export(FIXTURES, contract[source])
    return con, path, load_export(con, contract[source], path, "run-1", RowRules(as_of=AS_OF))


def counts(result) -> tuple[int, int, int, int]:
    return result.rows_read, result.rows_loaded, result.rows_filtered, result.rows_rejected


def test_the_fixtures_are_in_amocrm_encodings():
    leads = (FIXTURES / "amocrm_export_leads_2026-11-30.csv").read_bytes()
    assert leads.startswith(b"\xef\xbb\xbfID,\xd0\x9d")  # UTF-8 BOM, `,`
    contacts = (FIXTURES / "amocrm_export_contacts_2026-11-30.csv").read_bytes()
    assert contacts.startswith("ID;Тип;".encode("cp1251")) and b"\r\n" in contacts


def test_deals_load_with_russian_stages_amounts_and_dates(contract):
    con, path, result = load(contract, "deals")
    assert path.name == "amocrm_export_leads_2026-11-30.csv"
    assert (result.encoding, result.delimiter) == ("utf-8", ",")
    # 14 rows: a person's deal filtered, the row without ID rejected.
    assert counts(result) == (14, 12, 1, 1)
    assert result.filter_reasons == {
        "deal without a company (a person's deal): no account to key it": 1
    }
    assert result.reject_reasons == {"missing value: deal_id is required": 1}
    (line,) = con.execute("select line from raw.rejects").fetchone()
    assert line == 11
    rows = {
        r[0]: r[1:]
        for r in con.execute(
            "select deal_id, account_id, stage, amount::varchar, currency, "
            "created_at::varchar, closed_at::varchar from raw.deals"
        ).fetchall()
    }
    assert rows["31000001"] == (ROMASHKA, "won", "1234567.00", "RUB", "2026-01-12", "2026-03-20")
    assert rows["31000002"][2] == "150000.00"  # `150 000,00 руб.`
    assert rows["31000005"][2] == "75500.50"  # `75 500,50`
    assert rows["31000003"] == (VEKTOR, "needs_analysis", "480000.00", "RUB", "2026-09-02", None)
    assert rows["31000004"][1] == "lost"
    assert rows["31000012"][1:3] == ("negotiation", "1100000.00")  # a note with line breaks
    assert rows["31000013"][1] == "contract"
    assert rows["31000014"][1:3] == ("first_contact", None)  # blank Бюджет: no amount
    # The company only on the main contact (`Компания контакта`) keys the deal.
    assert rows["31000009"][0] == TECHNO
    assert "31000008" not in rows
    # A stage of the company's own pipeline: loaded as needs_analysis and named.
    assert rows["31000006"][1] == "needs_analysis"
    assert result.unmapped_values == {"stage": {"КП отправлено": 1}}
    warnings = "\n".join(result.warnings)
    assert "'КП отправлено' (1)" in warnings
    assert "header 'Товар' repeats at column 70: read as 'Товар_2'" in warnings


def test_the_excel_variant_of_the_deals_export_loads_the_same(contract, tmp_path):
    from openpyxl import Workbook

    text = (FIXTURES / "amocrm_export_leads_2026-11-30.csv").read_text(encoding="utf-8-sig")
    book = Workbook()
    for row in csv.reader(io.StringIO(text)):
        book.active.append(row)
    book.save(tmp_path / "amocrm_export_leads_2026-11-30.xlsx")
    con = duckdb.connect()
    path = find_export(tmp_path, contract["deals"])
    result = load_export(con, contract["deals"], path, "run-1", RowRules(as_of=AS_OF))
    assert result.encoding == "xlsx"
    assert counts(result) == (14, 12, 1, 1)
    amount = con.execute("select amount::varchar from raw.deals where deal_id = '31000002'")
    assert amount.fetchall() == [("150000.00",)]


def test_companies_are_the_accounts_of_the_contacts_export(contract):
    con, path, result = load(contract, "accounts")
    assert path.name == "amocrm_export_contacts_2026-11-30.csv"
    assert (result.encoding, result.delimiter) == ("cp1251", ";")
    # 4 companies (one name twice: the later row wins), 5 contact rows filtered.
    assert counts(result) == (9, 3, 5, 1)
    assert result.filter_reasons == {"a contact (Тип = контакт), not a company": 5}
    assert result.reject_reasons == {"duplicate key: superseded by line 9": 1}
    rows = con.execute(
        "select account_id, name, owner, city, created_at::varchar from raw.accounts "
        "order by account_id"
    ).fetchall()
    assert rows == [
        (VEKTOR, VEKTOR, "Мария Смирнова", "Санкт-Петербург", "2024-03-15"),
        (ROMASHKA, ROMASHKA, "Олег Кузнецов", None, "2026-02-02"),
        (TECHNO, TECHNO, "Олег Кузнецов", "Казань", "2026-06-01"),
    ]


def test_contacts_are_the_people_of_a_company(contract):
    con, _, result = load(contract, "contacts")
    assert counts(result) == (9, 3, 6, 0)
    assert result.filter_reasons == {
        "a company (Тип = компания), not a contact": 4,
        "contact without a company: no account to key it": 2,
    }
    rows = con.execute(
        "select contact_id, account_id, full_name, title, email, phone from raw.contacts "
        "order by contact_id"
    ).fetchall()
    assert rows == [
        ("52000001", ROMASHKA, "Пётр Иванов", "Генеральный директор",
         "p.ivanov@romashka.example", "+7 916 000-00-01"),
        ("52000002", VEKTOR, "Анна Сидорова", "Главный бухгалтер", "anna.s@mail.example", None),
        ("52000004", TECHNO, "Игорь Белов", "Начальник склада", None, "+7 843 000-00-04"),
    ]  # fmt: skip


def test_the_nightly_job_publishes_won_deal_revenue_per_company(tmp_path):
    landing = tmp_path / "exports"
    shutil.copytree(FIXTURES, landing, ignore=shutil.ignore_patterns("*.md"))
    night = run_exports(
        tmp_path,
        landing,
        profile="amocrm",
        as_of=AS_OF,
        revenue_source="won_deals",
        reporting_currency="RUB",
    )
    assert night.success, night.explain()
    with duckdb.connect(str(night.published), read_only=True) as con:
        rows = con.execute(
            "select account_id, as_of::varchar, revenue_t12m::varchar, "
            "revenue_prev_t12m::varchar from client_segments order by account_id"
        ).fetchall()
    # By hand: won deals closed in (2025-11-30, 2026-11-30]; 31000007 (10.11.2025) is
    # the year before; 31000011 has no Бюджет and cannot count; 31000008 has no company.
    assert {r[1] for r in rows} == {AS_OF.isoformat()}
    assert {r[0]: (Decimal(r[2]), Decimal(r[3])) for r in rows} == {
        ROMASHKA: (Decimal("1234567.00") + Decimal("150000.00"), Decimal("200000.00")),
        VEKTOR: (Decimal("75500.50"), Decimal("0.00")),
        TECHNO: (Decimal("64990.00"), Decimal("0.00")),
    }
