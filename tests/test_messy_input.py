"""Messy real-world exports (committed fixtures in tests/fixtures/messy): each has a
defined outcome, loaded, row rejected with a reason, or file refused with a clear
message, and for every one that loads, rows read = rows loaded + rows rejected."""

import datetime as dt
from pathlib import Path

import duckdb
import openpyxl
import pytest

from pipelines.ingest.contract import load_contract
from pipelines.ingest.loader import ContractError, RowRules, load_export
from pipelines.settings import REPO_ROOT

FIXTURES = Path(__file__).parent / "fixtures" / "messy"
CONTRACT = load_contract(REPO_ROOT / "config" / "contract.yml")

# fixture -> (rows read, loaded, rejected)
LOADED = {
    "utf8_bom_semicolon.accounts.csv": (2, 2, 0),
    "cp1251.accounts.csv": (2, 2, 0),
    "tab.products.csv": (2, 2, 0),
    "decimal_comma.invoice_lines.csv": (5, 5, 0),
    "quoted.accounts.csv": (3, 3, 0),
    "repeated_header_and_total.invoice_lines.csv": (4, 2, 2),
    "blank_lines.accounts.csv": (2, 2, 0),
    "renamed_and_extra.invoice_lines.csv": (1, 1, 0),
    "header_only.accounts.csv": (0, 0, 0),
    "truncated_last_line.accounts.csv": (2, 1, 1),
    "duplicate_keys.accounts.csv": (3, 2, 1),
    "unknown_currency.invoice_lines.csv": (3, 2, 1),
    "future_date.invoice_lines.csv": (2, 1, 1),
    "trailing_delimiter_repeated_and_escaped_header.accounts.csv": (2, 2, 0),
    "utf16_unicode_text.accounts.csv": (2, 2, 0),
    "currency_signs_and_negatives.invoice_lines.csv": (6, 6, 0),
    "gzip.invoice_lines.csv.gz": (2, 2, 0),
}
# What the ingest asset passes for invoice_lines: currencies with a rate (plus the
# reporting currency) and, when the run names one, its as_of.
INVOICE_RULES = RowRules(
    known_values={"currency": ("EUR", "RUB", "USD")}, as_of=dt.date(2026, 10, 31)
)
REFUSED = {
    "binary.accounts.csv": "not a text file",
    "missing_required_column.invoice_lines.csv": "missing required column(s) amount",
}


def load(name: str):
    con = duckdb.connect()
    source = name.split(".")[1]
    rules = INVOICE_RULES if source == "invoice_lines" else RowRules()
    result = load_export(con, CONTRACT[source], FIXTURES / name, "run-1", rules)
    return con, result


@pytest.mark.parametrize("name", sorted(LOADED))
def test_rows_read_are_loaded_or_rejected(name):
    con, result = load(name)
    assert (result.rows_read, result.rows_loaded, result.rows_rejected) == LOADED[name]
    assert result.rows_read == result.rows_loaded + result.rows_rejected
    rejected_lines = con.execute("select count(distinct line) from raw.rejects").fetchone()[0]
    assert rejected_lines == result.rows_rejected


@pytest.mark.parametrize("name", sorted(REFUSED))
def test_files_that_cannot_be_loaded_are_refused_with_what_was_expected(name):
    with pytest.raises(ContractError) as refused:
        load(name)
    message = str(refused.value)
    assert name in message and REFUSED[name] in message


def test_the_fixture_kinds_are_all_covered():
    assert set(LOADED) | set(REFUSED) == {p.name for p in FIXTURES.iterdir()}


def test_cp1251_is_decoded_not_misread_as_latin1():
    con, result = load("cp1251.accounts.csv")
    assert result.encoding == "cp1251" and result.delimiter == ";"
    names = [r[0] for r in con.execute("select name from raw.accounts order by 1").fetchall()]
    assert names == ["ИП Петров", "ООО «Ромашка»"]


def test_utf8_with_bom_and_semicolons():
    con, result = load("utf8_bom_semicolon.accounts.csv")
    assert result.delimiter == ";"
    assert con.execute("select account_id from raw.accounts order by 1").fetchall() == [
        ("C1",),
        ("C2",),
    ]


def test_tab_separated():
    con, result = load("tab.products.csv")
    assert result.delimiter == "\t"
    assert con.execute("select family from raw.products order by 1").fetchall() == [
        ("cloud telephony",),
        ("hotspot",),
    ]


def test_decimal_commas_thousands_spaces_and_date_formats():
    con, _ = load("decimal_comma.invoice_lines.csv")
    rows = con.execute(
        "select invoice_id, amount::varchar, invoice_date::varchar from raw.invoice_lines "
        "order by invoice_id"
    ).fetchall()
    assert rows == [
        ("I1", "1234.56", "2026-01-15"),  # 1 234,56 and dd.mm.yyyy
        ("I2", "1234.56", "2026-01-16"),  # no-break space; yyyy-mm-dd hh:mm:ss
        ("I3", "-500.00", "2026-01-17"),  # a credit note stays negative
        ("I4", "1234.56", "2026-01-17"),  # 1.234,56
        ("I5", "1234.56", "2026-01-18"),  # "1,234.56"
    ]


def test_quoted_separators_and_line_breaks_stay_inside_the_field():
    con, _ = load("quoted.accounts.csv")
    names = dict(con.execute("select account_id, name from raw.accounts").fetchall())
    assert names["C1"] == "Рога и копыта, ООО"
    assert names["C2"] == "Две строки\nв названии"


def test_a_repeated_header_and_a_total_row_are_rejected_as_not_data():
    con, _ = load("repeated_header_and_total.invoice_lines.csv")
    reasons = {
        r[0]: r[1]
        for r in con.execute(
            "select line, string_agg(reason, ' | ') from raw.rejects group by line"
        ).fetchall()
    }
    # Not data at all: rejected for that alone, not for every column it lacks.
    assert reasons[3] == "repeated header row, not data"
    assert reasons[5] == "total row, not data"
    assert [
        r[0] for r in con.execute("select invoice_id from raw.invoice_lines order by 1").fetchall()
    ] == ["I1", "I2"]


def test_a_renamed_column_loads_through_its_alias_and_an_extra_one_is_reported():
    con, result = load("renamed_and_extra.invoice_lines.csv")
    assert con.execute("select amount::varchar from raw.invoice_lines").fetchall() == [("10.00",)]
    assert result.extra_columns == ["comment"]


def test_a_truncated_last_line_is_a_structural_reject():
    con, _ = load("truncated_last_line.accounts.csv")
    (line, reason) = con.execute("select line, reason from raw.rejects").fetchone()
    assert line == 3 and "missing" in reason.lower()


def test_duplicate_keys_keep_the_last_row():
    con, _ = load("duplicate_keys.accounts.csv")
    assert con.execute("select name from raw.accounts where account_id = 'C1'").fetchall() == [
        ("second",)
    ]
    reason = con.execute("select reason from raw.rejects").fetchone()[0]
    assert reason == "duplicate key: superseded by line 4"


def test_the_missing_column_message_lists_the_columns_found_and_the_aliases():
    with pytest.raises(ContractError) as refused:
        load("missing_required_column.invoice_lines.csv")
    message = str(refused.value)
    assert "amount (or sum, сумма, amount_rub)" in message
    assert "columns found: invoice_id, line_no, account_id, invoice_date" in message


def test_an_unknown_currency_is_rejected_and_a_known_one_in_any_case_loads():
    con, _ = load("unknown_currency.invoice_lines.csv")
    (line, column, value, reason) = con.execute(
        "select line, column_name, value, reason from raw.rejects"
    ).fetchone()
    assert (line, column, value) == (3, "currency", "XYZ")
    assert reason == "unknown currency: not in fx_rates.currency (EUR, RUB, USD)"


def test_a_line_dated_after_the_runs_as_of_is_rejected():
    con, _ = load("future_date.invoice_lines.csv")
    (line, reason) = con.execute("select line, reason from raw.rejects").fetchone()
    assert line == 3 and reason == "invoice_date is after the run's as_of 2026-10-31"


def test_an_empty_a_repeated_and_an_html_escaped_header_name_load():
    """Bitrix24 and Excel end every line with the delimiter (an empty last header name);
    HubSpot repeats header names; Bitrix24 HTML-escapes them, sometimes twice."""
    con, result = load("trailing_delimiter_repeated_and_escaped_header.accounts.csv")
    assert result.delimiter == ";"
    rows = con.execute("select account_id, name, industry from raw.accounts order by 1").fetchall()
    assert rows == [("A1", "ООО Альфа", "retail"), ("A2", "ООО Бета", "it")]
    assert result.extra_columns == ["Region & City", "name_2", "column6"]
    assert any("'name' repeats at column 5: read as 'name_2'" in w for w in result.warnings)
    assert any("column 6 has no header name" in w for w in result.warnings)


def test_excel_unicode_text_utf16_is_decoded():
    con, result = load("utf16_unicode_text.accounts.csv")
    assert (result.encoding, result.delimiter) == ("utf-16", "\t")
    names = [r[0] for r in con.execute("select name from raw.accounts order by 1").fetchall()]
    assert names == ["Diseño SA", "ООО «Ромашка»"]


def test_currency_signs_accounting_negatives_and_extra_decimals():
    con, _ = load("currency_signs_and_negatives.invoice_lines.csv")
    amounts = con.execute(
        "select line_no, amount::varchar from raw.invoice_lines order by line_no"
    ).fetchall()
    assert amounts == [
        (1, "1234.56"),  # "1 234,56 ₽"
        (2, "-123.45"),  # (123.45)
        (3, "1234.50"),  # "$1,234.50"
        (4, "1500.00"),  # "1 500 руб."
        (5, "9225.23"),  # 3 decimals (Salesforce): rounded half-up, not rejected
        (6, "-1000.50"),  # "(1 000,50) р."
    ]


def test_plain_numbers_round_as_formatted_ones_do(tmp_path):
    """Plain numbers take a narrow cast, formatted ones the wide one: both round half
    away from zero, and what does not fit or is not a number is rejected either way."""
    rows = [
        # line_no, amount; the same value plain and formatted where it has a format
        ("1", "1000.235"),
        ("2", "1 000,235 ₽"),
        ("3", "-0.005"),
        ("4", "(0.005)"),
        ("5", "1e2"),
        ("6", "+12"),
        ("7.5", "1 000,25"),  # a line number with decimals rounds too
        ("0x10", "1"),  # hexadecimal is not a number in an export
        ("9", "12345678901234567.99"),  # 19 digits: more than DECIMAL(18,2) holds
    ]
    path = tmp_path / "invoice_lines.csv"
    path.write_text(
        "invoice_id;line_no;account_id;invoice_date;amount\n"
        + "".join(f"X{i};{n};C1;2026-01-15;{a}\n" for i, (n, a) in enumerate(rows)),
        encoding="utf-8",
    )
    con = duckdb.connect()
    result = load_export(con, CONTRACT["invoice_lines"], path, "run-1", INVOICE_RULES)
    loaded = con.execute(
        "select invoice_id, line_no, amount::varchar from raw.invoice_lines order by 1"
    ).fetchall()
    assert loaded == [
        ("X0", 1, "1000.24"),
        ("X1", 2, "1000.24"),
        ("X2", 3, "-0.01"),
        ("X3", 4, "-0.01"),
        ("X4", 5, "100.00"),
        ("X5", 6, "12.00"),
        ("X6", 8, "1000.25"),
    ]
    rejects = con.execute("select line, column_name, value from raw.rejects order by 1").fetchall()
    assert rejects == [(9, "line_no", "0x10"), (10, "amount", "12345678901234567.99")]
    assert (result.rows_read, result.rows_loaded, result.rows_rejected) == (9, 7, 2)


def test_a_gzipped_export_loads_like_its_csv():
    con, result = load("gzip.invoice_lines.csv.gz")
    assert con.execute("select sum(amount)::varchar from raw.invoice_lines").fetchall() == [
        ("30.00",)
    ]
    assert result.file_name == "gzip.invoice_lines.csv.gz"


def test_an_excel_workbook_loads_like_its_csv(tmp_path):
    """1C and many Russian CRMs export .xlsx: read with python-calamine, dates and
    numbers as the workbook typed them."""
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["invoice_id", "line_no", "account_id", "invoice_date", "amount", "currency"])
    sheet.append(["X1", 1, "C1", dt.datetime(2026, 1, 15), 1234.5, "RUB"])
    sheet.append(["X1", 2, "C1", "16.01.2026", "1 000,25", "RUB"])
    sheet.append(["X1", 3, "C1", dt.date(2026, 1, 17), "n/a", "RUB"])
    path = tmp_path / "invoice_lines.xlsx"
    book.save(path)
    con = duckdb.connect()
    result = load_export(con, CONTRACT["invoice_lines"], path, "run-1", INVOICE_RULES)
    assert (result.rows_read, result.rows_loaded, result.rows_rejected) == (3, 2, 1)
    assert con.execute(
        "select line_no, invoice_date::varchar, amount::varchar from raw.invoice_lines order by 1"
    ).fetchall() == [(1, "2026-01-15", "1234.50"), (2, "2026-01-16", "1000.25")]
    assert con.execute("select line, column_name, value from raw.rejects").fetchall() == [
        (4, "amount", "n/a")
    ]
