"""The 1C profile (config/profiles/1c.yml) on a sales register saved from 1C:Enterprise:
a Windows-1251 CSV with `;` (tests/fixtures/native/1c) and an .xlsx workbook written
here with openpyxl the way 1C writes it (sheet TDSheet, date and number cells, an
Итого row), and the real nightly job on the workbook alone: 1C as the company's only
system, invoice lines and accounts from one register, revenue in roubles."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path

import duckdb
import pytest
from openpyxl import Workbook
from support import run_exports

from pipelines.ingest.contract import load_contract
from pipelines.ingest.loader import ContractError, RowRules, find_export, load_export
from pipelines.settings import REPO_ROOT

CONTRACT_PATH = REPO_ROOT / "config" / "contract.yml"
PROFILE = REPO_ROOT / "config" / "profiles" / "1c.yml"
FIXTURES = REPO_ROOT / "tests" / "fixtures" / "native" / "1c"
CSV_NAME = "Реализация товаров и услуг.csv"
AS_OF = dt.date(2026, 11, 30)

HEADER = ["N", "Дата", "Номер документа", "Контрагент", "ИНН", "Номенклатура", "Количество",
          "Цена", "Сумма", "% НДС", "НДС", "Всего", "Валюта"]  # fmt: skip
# As 1C writes them: dates as date cells, amounts as number cells, ИНН as text (a
# leading zero: Bashkortostan's 02...), one document of two lines.
XLSX_ROWS = [
    [1, dt.datetime(2026, 2, 2, 9, 30), "0000-000010", 'ООО "Башнефтесервис"', "0274062111",
     "Бурение скважины", 1, 1500000.5, 1500000.5, "22%", 330000.11, 1830000.61, "руб."],
    [2, dt.datetime(2026, 2, 2, 9, 30), "0000-000010", 'ООО "Башнефтесервис"', "0274062111",
     "Доставка", 1, 25000, 25000, "22%", 5500, 30500, "руб."],
    [1, dt.datetime(2026, 9, 1, 14, 0), "0000-000031", 'ООО "Ромашка"', "7701234567",
     "Сопровождение, сентябрь", 3, 33333.33, 99999.99, "22%", 22000, 121999.99, "руб."],
    [1, dt.datetime(2025, 12, 30, 18, 0), "0000-000999", 'ООО "Ромашка"', "7701234567",
     "Сервер Dell R750", 1, 450000, 450000, "20%", 90000, 540000, "руб."],
    [1, dt.datetime(2025, 3, 14), "0000-000120", 'ООО "Башнефтесервис"', "0274062111",
     "Бурение скважины", 1, 700000, 700000, "20%", 140000, 840000, "руб."],
    ["Итого", None, None, None, None, None, 7, None, 2775000.49, None, 587500.11, 3362500.6,
     None],
]  # fmt: skip


def write_workbook(path: Path) -> Path:
    book = Workbook()
    sheet = book.active
    sheet.title = "TDSheet"
    sheet.append(HEADER)
    for row in XLSX_ROWS:
        sheet.append(row)
    for cells in sheet.iter_rows(min_row=2, min_col=2, max_col=2):
        cells[0].number_format = "dd.mm.yyyy h:mm:ss"
    book.save(path)
    return path


@pytest.fixture(scope="module")
def contract():
    return load_contract(CONTRACT_PATH, [PROFILE])


def load(contract, source: str, landing: Path):
    con = duckdb.connect()
    path = find_export(landing, contract[source])
    return con, path, load_export(con, contract[source], path, "run-1", RowRules(as_of=AS_OF))


def counts(result) -> tuple[int, int, int, int]:
    return result.rows_read, result.rows_loaded, result.rows_filtered, result.rows_rejected


def test_a_cp1251_register_loads_as_invoice_lines(contract):
    con, path, result = load(contract, "invoice_lines", FIXTURES)
    assert path.name == CSV_NAME
    assert (result.encoding, result.delimiter) == ("cp1251", ";")
    # 9 rows: the Итого row and a document after as_of rejected.
    assert counts(result) == (9, 7, 0, 2)
    rejected = con.execute(
        "select line, reason from raw.rejects where column_name in ('', 'invoice_date') "
        "and reason not like 'missing%' order by line"
    ).fetchall()
    assert rejected == [
        (9, "invoice_date is after the run's as_of 2026-11-30"),
        (10, "total row, not data"),
    ]
    rows = con.execute(
        "select invoice_id, line_no, account_id, invoice_date::varchar, amount::varchar, "
        "currency, product_code from raw.invoice_lines order by _source_line"
    ).fetchall()
    assert rows == [
        # Number 0000-000001 twice, in 2025 and in 2026: two invoices, not a duplicate.
        ("0000-000001/2025", 1, "7701234567", "2025-12-20", "900000.00", "RUB",
         "Сервер Dell R750"),
        ("0000-000001/2025", 2, "7701234567", "2025-12-20", "50000.00", "RUB",
         "Монтаж оборудования"),
        ("0000-000001/2026", 1, "7802345678", "2026-01-12", "123456.70", "RUB",
         "Лицензия 1С:Предприятие"),
        # Renamed counterparty, same ИНН: the same client.
        ("0000-000045/2026", 1, "7701234567", "2026-03-03", "30000.00", "RUB",
         "Сопровождение, март"),
        # No ИНН (a retail buyer): keyed by its name.
        ("0000-000078/2026", 1, "Розничный покупатель", "2026-04-15", "9165.00", "RUB",
         "Кабель UTP 5e"),
        # A return: a negative line.
        ("0000-000007/2026", 1, "7802345678", "2026-06-10", "-12345.67", "RUB",
         "Лицензия 1С:Предприятие (возврат)"),
        ("0000-000950/2025", 1, "7701234567", "2025-10-01", "200000.00", "RUB",
         "Сервер Dell R740"),
    ]  # fmt: skip


def test_the_same_register_gives_one_account_per_counterparty(contract):
    con, _, result = load(contract, "accounts", FIXTURES)
    assert counts(result) == (9, 3, 4, 2)
    assert result.filter_reasons == {"repeats line 2": 2, "repeats line 4": 2}
    assert result.reject_reasons["total row, not data"] == 1
    # The renamed counterparty: one ИНН under two names; the later row wins.
    assert result.reject_reasons["duplicate key: superseded by line 5"] == 1
    rows = con.execute("select account_id, name, inn from raw.accounts order by 1").fetchall()
    assert rows == [
        ("7701234567", 'ООО "Ромашка" (Москва)', "7701234567"),
        ("7802345678", "АО «Вектор»", "7802345678"),
        ("Розничный покупатель", "Розничный покупатель", None),
    ]


def test_an_xlsx_register_with_date_and_number_cells_loads(contract, tmp_path):
    write_workbook(tmp_path / "Реализация товаров и услуг.xlsx")
    con, path, result = load(contract, "invoice_lines", tmp_path)
    assert path.suffix == ".xlsx" and result.encoding == "xlsx"
    assert counts(result) == (6, 5, 0, 1)
    assert "total row, not data" in result.reject_reasons
    rows = con.execute(
        "select invoice_id, line_no, account_id, invoice_date::varchar, amount::varchar "
        "from raw.invoice_lines order by _source_line"
    ).fetchall()
    assert rows == [
        ("0000-000010/2026", 1, "0274062111", "2026-02-02", "1500000.50"),  # leading zero kept
        ("0000-000010/2026", 2, "0274062111", "2026-02-02", "25000.00"),
        ("0000-000031/2026", 1, "7701234567", "2026-09-01", "99999.99"),
        ("0000-000999/2025", 1, "7701234567", "2025-12-30", "450000.00"),
        ("0000-000120/2025", 1, "0274062111", "2025-03-14", "700000.00"),
    ]
    con, _, accounts = load(contract, "accounts", tmp_path)
    assert counts(accounts) == (6, 2, 3, 1)
    assert con.execute("select account_id, name from raw.accounts order by 1").fetchall() == [
        ("0274062111", 'ООО "Башнефтесервис"'),
        ("7701234567", 'ООО "Ромашка"'),
    ]


def test_a_title_row_above_the_header_is_refused_naming_what_was_found(contract, tmp_path):
    text = (FIXTURES / CSV_NAME).read_bytes()
    title = "Реализация товаров и услуг за 01.01.2026 - 30.11.2026;;;;;;;;;;;;;\r\n"
    (tmp_path / CSV_NAME).write_bytes(title.encode("cp1251") + text)
    with pytest.raises(ContractError) as refused:
        load(contract, "invoice_lines", tmp_path)
    message = str(refused.value)
    assert "missing required column(s)" in message and "(profile 1c.yml)" in message
    assert "columns found: Реализация товаров и услуг за 01.01.2026 - 30.11.2026" in message


def test_the_nightly_job_publishes_1c_revenue_per_client(tmp_path):
    """Through `segments run` itself, in this process (the suite's one such run): its
    exit code and the summary it prints, as a user sees them."""
    landing = tmp_path / "exports"
    landing.mkdir()
    write_workbook(landing / "Реализация товаров и услуг.xlsx")
    night = run_exports(
        tmp_path,
        landing,
        profile="1c",
        as_of=AS_OF,
        revenue_source="invoices",
        reporting_currency="RUB",
        via_cli=True,
    )
    assert night.exit_code == 0, night.explain()
    summary = night.summary.splitlines()
    assert summary[1] == f"Published {tmp_path / 'publish' / 'segments.duckdb'}"
    assert summary[2].startswith(f"  as_of {AS_OF.isoformat()}, run ")
    # The two clients below, one line per segment: clients and revenue_t12m.
    assert "  vip                1          1,525,000.50" in summary
    assert "  typical            1            549,999.99" in summary
    assert "  leads: none ranked (no leads export tonight)" in summary
    with duckdb.connect(str(night.published), read_only=True) as con:
        rows = con.execute(
            "select account_id, account_name, as_of::varchar, revenue_t12m::varchar, "
            "revenue_prev_t12m::varchar from client_segments order by account_id"
        ).fetchall()
    # By hand from XLSX_ROWS: (2025-11-30, 2026-11-30] and the year before; Сумма (net
    # of VAT here: НДС сверху), the Итого row not counted.
    assert {r[2] for r in rows} == {AS_OF.isoformat()}
    assert {r[0]: (r[1], Decimal(r[3]), Decimal(r[4])) for r in rows} == {
        "0274062111": (
            'ООО "Башнефтесервис"',
            Decimal("1500000.50") + Decimal("25000.00"),
            Decimal("700000.00"),
        ),
        "7701234567": ('ООО "Ромашка"', Decimal("99999.99") + Decimal("450000.00"), Decimal(0)),
    }
