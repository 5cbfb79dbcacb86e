"""Ingest: typed load, rejects with file/line/column/value/reason, refused files."""

from dataclasses import replace
from pathlib import Path

import duckdb
import pytest

from pipelines.ingest import loader
from pipelines.ingest.contract import load_contract
from pipelines.ingest.loader import ContractError, find_export, load_export
from pipelines.settings import REPO_ROOT

CONTRACT = load_contract(REPO_ROOT / "config" / "contract.yml")
INVOICE_HEADER = (
    "invoice_id,line_no,account_id,invoice_date,amount,currency,"
    "product_code,status,due_date,paid_date"
)


@pytest.fixture
def con():
    connection = duckdb.connect()
    yield connection
    connection.close()


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def rejects(con) -> list[tuple]:
    return con.execute(
        "select line, column_name, value, reason from raw.rejects order by line, column_name"
    ).fetchall()


def test_good_rows_load_with_their_declared_types(con, tmp_path):
    path = write(
        tmp_path,
        "invoice_lines.csv",
        INVOICE_HEADER + "\n"
        "INV-1,1,C1,2026-01-15,1234.56,USD,MOBILE,paid,2026-02-14,2026-02-10\n"
        "INV-1,2,C1,2026-01-15,-10.00,,,,,\n",
    )
    result = load_export(con, CONTRACT["invoice_lines"], path, "run-1")
    assert (result.rows_read, result.rows_loaded, result.rows_rejected) == (2, 2, 0)
    row = con.execute(
        "select amount, invoice_date, paid_date, currency, _source_line "
        "from raw.invoice_lines order by line_no"
    ).fetchall()
    assert str(row[0][0]) == "1234.56" and str(row[0][1]) == "2026-01-15"
    assert row[1][3] is None  # an empty field is NULL, not ''
    assert [r[4] for r in row] == [2, 3]
    types = dict(
        con.execute(
            "select column_name, data_type from information_schema.columns "
            "where table_name = 'invoice_lines'"
        ).fetchall()
    )
    assert types["amount"] == "DECIMAL(18,2)" and types["invoice_date"] == "DATE"


def test_bad_values_are_rejected_with_line_column_value_and_reason(con, tmp_path):
    path = write(
        tmp_path,
        "invoice_lines.csv",
        INVOICE_HEADER + "\n"
        "INV-1,1,C1,2026-01-15,100.00,RUB,M,paid,,\n"  # line 2: good
        "INV-2,1,,2026-01-15,100.00,RUB,M,paid,,\n"  # line 3: no key
        "INV-3,1,C1,2026-01-15,12O.50,RUB,M,paid,,\n"  # line 4: letter O
        "INV-4,1,C1,2026-13-45,99.00,RUB,M,paid,,\n"  # line 5: no such date
        "INV-5,1,C1,2026-01-15,99.00,RUB,M,refunded,,\n"  # line 6: status
        "INV-6,x,C1,2026-01-15,99.00,RUB,M,paid,,\n",
    )  # line 7: line_no
    result = load_export(con, CONTRACT["invoice_lines"], path, "run-1")
    assert (result.rows_read, result.rows_loaded, result.rows_rejected) == (6, 1, 5)
    assert rejects(con) == [
        (3, "account_id", None, "missing value: account_id is required"),
        (4, "amount", "12O.50", "expected a number"),
        (
            5,
            "invoice_date",
            "2026-13-45",
            "expected a date in one of the formats %Y-%m-%d, %d.%m.%Y, %Y-%m-%d %H:%M:%S, "
            "%Y-%m-%d %H:%M, %d.%m.%Y %H:%M:%S, %d.%m.%Y %H:%M, %Y-%m-%dT%H:%M:%S, "
            "%Y-%m-%dT%H:%M:%SZ",
        ),
        (6, "status", "refunded", "expected one of: issued, paid, overdue, cancelled"),
        (7, "line_no", "x", "expected a whole number"),
    ]
    assert con.execute("select distinct file_name, run_id from raw.rejects").fetchall() == [
        ("invoice_lines.csv", "run-1")
    ]


def test_structurally_bad_record_is_rejected_and_later_lines_keep_their_numbers(con, tmp_path):
    path = write(
        tmp_path,
        "products.csv",
        "product_code,name,family,is_standard\n"
        "P1,One,f,true\n"
        "P2,Two,f,true,unexpected\n"  # line 3: too many columns
        "P3,Three,f,maybe\n",
    )  # line 4: not a boolean
    result = load_export(con, CONTRACT["products"], path, "run-1")
    assert (result.rows_read, result.rows_loaded, result.rows_rejected) == (3, 1, 2)
    lines = [(r[0], r[1]) for r in rejects(con)]
    assert (4, "is_standard") in lines
    assert any(line == 3 for line, _ in lines)
    reasons = " ".join(r[3] for r in rejects(con))
    assert "too many columns" in reasons


PRODUCTS_WITH_BROKEN_RECORDS = (
    "product_code,name,family,is_standard\n"
    "P1,One,f,true\n"
    "P2,Two,f,true,extra\n"  # line 3: too many columns
    "P3,Three,f,true,extra\n"  # line 4: too many columns
    "P4,Four,f,true\n"
    "P5,Five,f,true,extra\n"  # line 6: too many columns
    "P6,Six,f,true\n"
    "P7,Seven,f,maybe\n"  # line 8: not a boolean
    "P8,Eight,f,false\n"
)


def test_loaded_rows_keep_their_line_in_the_file_after_broken_records(con, tmp_path):
    path = write(tmp_path, "products.csv", PRODUCTS_WITH_BROKEN_RECORDS)
    result = load_export(con, CONTRACT["products"], path, "run-1")
    assert (result.rows_read, result.rows_loaded, result.rows_rejected) == (8, 4, 4)
    assert con.execute(
        "select product_code, _source_line from raw.products order by _source_line"
    ).fetchall() == [("P1", 2), ("P4", 5), ("P6", 7), ("P8", 9)]
    assert [r[0] for r in rejects(con)] == [3, 4, 6, 8]


# Values the CSV reader may type itself (typed_by_reader) next to values it must leave to
# the text path: formatted numbers, the profile's other date formats, defects. Each
# record is loaded both ways; what is stored and what is rejected must not differ.
PLAIN_THEN_EDGE_VALUES = [
    # (line_no, invoice_date, amount, due_date)
    ("1", "2026-01-15", "100.00", "2026-02-14"),  # the sample: all plain
    ("2", "2026-1-5", "12.345", ""),
    ("3", " 2026-01-15", "-12.345", "2026/02/14"),
    ("4", "2026-01-15 10:30", " 12.5", "2026-02-14 "),
    ("5.0", "2026-01-15", "+12.5", "15.02.2026"),
    ("6.5", "2026-01-15", ".5", "2026-02-30"),
    (" 7", "2026-01-15", "1e3", "20260214"),
    ("1e1", "2026-01-15", "0012.50", ""),
    ("x", "2026-01-15", "12.344999", ""),
    ("12", "15.01.2026", "99999999999999999.99", ""),
    ("13", "2026-01-15", "1 234,50", ""),
    ("14", "2026-01-15", "(45.10)", ""),
    ("15", "2026-01-15", "1,234.56", ""),
    ("16", "2026-01-15", "$12.00", ""),
    ("17", "2026-01-15", "  ", ""),
    ("18", "2026-01-15", "12O.50", ""),
    ("19", "2026-01-15", "-0.005", ""),
    ("20", "2026-01-15", "1_000", ""),
    ("21", "2026-01-15", "inf", ""),
    ("99999999999999999999", "2026-01-15", "1.00", ""),
    ("23", "2026-01-15", "1.00,extra,more", ""),  # fields shifted: rejected
    ("24", "2026-01-15", "7.77", "2026-02-14"),
]


def _load_both_ways(con, tmp_path, monkeypatch, text: str) -> tuple[dict, list, list]:
    """Load `text` as invoice lines with the reader typing what it can, then with
    everything typed from text: the reader's types, and per way the stored rows and the
    rejects."""
    path = write(tmp_path, "invoice_lines.csv", text)
    spec = replace(CONTRACT["invoice_lines"], incremental=False)
    seen: dict = {}
    typed_by_reader = loader.typed_by_reader

    def spy(*args):
        seen.update(typed_by_reader(*args))
        return seen

    stored = "select * exclude (_source_file) from raw.invoice_lines order by _source_line"
    monkeypatch.setattr(loader, "typed_by_reader", spy)
    load_export(con, spec, path, "reader")
    by_reader = con.execute(stored).fetchall(), rejects(con)
    monkeypatch.setattr(loader, "typed_by_reader", lambda *args: {})
    con.execute("delete from raw.rejects")
    load_export(con, spec, path, "text")
    by_text = con.execute(stored).fetchall(), rejects(con)
    return seen, [by_reader[0], by_text[0]], [by_reader[1], by_text[1]]


@pytest.mark.parametrize("literal_gaps", [64, 0])
def test_what_the_reader_types_equals_the_text_path_value_by_value(
    con, tmp_path, monkeypatch, literal_gaps
):
    """The reader's sample is its first record here, so every edge value below meets
    the reader; with 0 literal gaps the lines are numbered by the join instead."""
    monkeypatch.setattr(loader, "READER_TYPES_SAMPLE", 1)
    monkeypatch.setattr(loader, "LITERAL_GAPS", literal_gaps)
    records = [
        f'INV-{n},{line_no},C1,{invoice_date},"{amount}",RUB,M,issued,{due_date},'
        for n, (line_no, invoice_date, amount, due_date) in enumerate(PLAIN_THEN_EDGE_VALUES)
    ]
    records[-2] = records[-2].replace('"1.00,extra,more"', "1.00,extra,more")
    seen, stored, rejected = _load_both_ways(
        con, tmp_path, monkeypatch, INVOICE_HEADER + "\n" + "\n".join(records) + "\n"
    )
    assert seen == {
        "line_no": "DECIMAL(18,0)",
        "invoice_date": "DATE",
        "amount": "DECIMAL(18,2)",
        "due_date": "DATE",
        "paid_date": "DATE",
    }
    assert stored[0] == stored[1]
    assert rejected[0] == rejected[1]
    lines = {row[-1]: row for row in stored[0]}  # _source_line last
    assert str(lines[12][4]) == "1234.50" and str(lines[13][4]) == "-45.10"  # text path
    assert str(lines[3][4]) == "12.35" and lines[23][1] == 24  # after the broken line
    assert sorted({r[0] for r in rejected[0]}) == [7, 8, 10, 11, 16, 17, 20, 21, 22]


def test_a_field_in_another_format_is_left_to_the_text_path(con, tmp_path, monkeypatch):
    """Dates exported as 05.01.2026 and formatted amounts from the first record on are
    not given to the reader (one reject per record to retype), and still load."""
    text = (
        INVOICE_HEADER + "\n"
        'INV-1,1,C1,15.01.2026,"1 234,50",RUB,M,issued,2026-02-14,\n'
        "INV-2,2,C1,16.01.2026,10.00,RUB,M,issued,2026-02-14,\n"
    )
    seen, stored, rejected = _load_both_ways(con, tmp_path, monkeypatch, text)
    assert seen == {"line_no": "DECIMAL(18,0)", "due_date": "DATE", "paid_date": "DATE"}
    assert stored[0] == stored[1] and rejected[0] == rejected[1] == []
    assert [(str(r[3]), str(r[4])) for r in stored[0]] == [
        ("2026-01-15", "1234.50"),
        ("2026-01-16", "10.00"),
    ]


def test_a_profile_expression_reads_the_records_line(con, tmp_path):
    """`_line` in an expression is the record's line, broken records counted."""
    spec = CONTRACT["products"]
    family = replace(spec.column("family"), expression="'line ' || _line")
    spec = replace(spec, columns=tuple(family if c.name == "family" else c for c in spec.columns))
    path = write(tmp_path, "products.csv", PRODUCTS_WITH_BROKEN_RECORDS)
    result = load_export(con, spec, path, "run-1")
    assert (result.rows_read, result.rows_loaded, result.rows_rejected) == (8, 4, 4)
    assert con.execute(
        "select family, _source_line from raw.products order by _source_line"
    ).fetchall() == [("line 2", 2), ("line 5", 5), ("line 7", 7), ("line 9", 9)]
    assert [r[0] for r in rejects(con)] == [3, 4, 6, 8]


def test_missing_required_column_refuses_the_file_naming_it_and_the_columns_found(con, tmp_path):
    path = write(tmp_path, "accounts.csv", "account_id,title\nC1,x\n")
    with pytest.raises(ContractError) as error:
        load_export(con, CONTRACT["accounts"], path, "run-1")
    message = str(error.value)
    assert "accounts.csv" in message
    assert "missing required column(s) name" in message
    assert "columns found: account_id, title" in message


def test_empty_file_is_refused_with_what_was_expected(con, tmp_path):
    path = write(tmp_path, "accounts.csv", "")
    with pytest.raises(ContractError, match="accounts.csv: the file is empty; expected a header"):
        load_export(con, CONTRACT["accounts"], path, "run-1")


def test_header_only_file_loads_zero_rows(con, tmp_path):
    path = write(tmp_path, "accounts.csv", "account_id,name\n")
    result = load_export(con, CONTRACT["accounts"], path, "run-1")
    assert (result.rows_read, result.rows_loaded, result.rows_rejected) == (0, 0, 0)
    assert "industry" in result.missing_optional_columns


def test_duplicate_keys_keep_the_last_row_and_report_the_others(con, tmp_path):
    path = write(tmp_path, "accounts.csv", "account_id,name\nC1,Old\nC2,Other\nC1,New\n")
    result = load_export(con, CONTRACT["accounts"], path, "run-1")
    assert (result.rows_read, result.rows_loaded, result.rows_rejected) == (3, 2, 1)
    assert con.execute("select name from raw.accounts where account_id = 'C1'").fetchall() == [
        ("New",)
    ]
    assert rejects(con) == [(2, "account_id", "C1", "duplicate key: superseded by line 4")]


def test_invoice_lines_accumulate_and_a_newer_file_replaces_same_key(con, tmp_path):
    first = write(
        tmp_path,
        "invoice_lines.csv",
        INVOICE_HEADER + "\n"
        "INV-1,1,C1,2026-01-15,100.00,RUB,M,issued,,\n"
        "INV-2,1,C1,2026-02-15,200.00,RUB,M,issued,,\n",
    )
    load_export(con, CONTRACT["invoice_lines"], first, "run-1")
    delta = write(
        tmp_path,
        "invoice_lines.csv",
        INVOICE_HEADER + "\n"
        "INV-2,1,C1,2026-02-15,200.00,RUB,M,paid,,2026-03-01\n"
        "INV-3,1,C1,2026-03-15,300.00,RUB,M,issued,,\n",
    )
    result = load_export(con, CONTRACT["invoice_lines"], delta, "run-2")
    assert result.rows_in_table == 3
    assert con.execute(
        "select invoice_id, status from raw.invoice_lines order by 1"
    ).fetchall() == [("INV-1", "issued"), ("INV-2", "paid"), ("INV-3", "issued")]


def test_a_small_delta_and_a_full_reexport_store_the_same_lines(con, tmp_path):
    """A delta (merged in place) and a re-export of everything with the same change
    (the table rebuilt from the rows it does not re-send plus its own) agree."""
    lines = [f"INV-{i},1,C{i % 3},2026-01-{i + 10:02d},{i}00.00,RUB,M,issued,," for i in range(8)]
    paid = "INV-5,1,C2,2026-01-15,500.00,RUB,M,paid,,2026-02-01"
    stored = {}
    for name, tonight in (("delta", [paid]), ("reexport", lines[:5] + [paid] + lines[6:])):
        db = duckdb.connect(str(tmp_path / f"{name}.duckdb"))
        folder = tmp_path / name
        folder.mkdir()
        load_export(db, CONTRACT["invoice_lines"], write(folder, "invoice_lines.csv",
                    "\n".join([INVOICE_HEADER, *lines]) + "\n"), "run-1")  # fmt: skip
        result = load_export(db, CONTRACT["invoice_lines"], write(folder, "invoice_lines.csv",
                             "\n".join([INVOICE_HEADER, *tonight]) + "\n"), "run-2")  # fmt: skip
        assert result.rows_in_table == 8
        assert {"read", "type", "check", "write"} <= result.timings.keys()
        stored[name] = db.execute(
            "select * exclude (_source_line) from raw.invoice_lines order by all"
        ).fetchall()
    assert stored["delta"] == stored["reexport"]
    assert [row[7] for row in stored["delta"]].count("paid") == 1


def test_the_change_log_holds_changed_lines_as_stored_and_as_new(con, tmp_path):
    """docs/scale.md: what an incremental dbt build reads. The first load made the table
    whole ('reset'); a later file's unchanged lines are no change, a changed line is
    logged in both versions and a new line as new, whichever way the file is written."""
    spec = CONTRACT["invoice_lines"]
    lines = [f"INV-{i},1,C{i},2026-01-{i + 10:02d},{i}00.00,RUB,M,issued,," for i in range(6)]
    load_export(con, spec, write(tmp_path, "invoice_lines.csv",
                "\n".join([INVOICE_HEADER, *lines]) + "\n"), "run-1")  # fmt: skip
    log = "select change, run_id, invoice_id, account_id from raw.invoice_lines_changes"
    assert con.execute(log).fetchall() == [("reset", "run-1", None, None)]

    moved = "INV-2,1,C9,2026-01-12,200.00,RUB,M,paid,,2026-02-01"  # paid, and another client
    new = "INV-7,1,C7,2026-02-01,700.00,RUB,M,issued,,"
    resent = [lines[0], moved, new]  # lines[0] re-sent unchanged
    load_export(con, spec, write(tmp_path, "invoice_lines.csv",
                "\n".join([INVOICE_HEADER, *resent]) + "\n"), "run-2")  # fmt: skip
    assert con.execute(f"{log} where run_id = 'run-2' order by all").fetchall() == [
        ("new", "run-2", "INV-2", "C9"),
        ("new", "run-2", "INV-7", "C7"),
        ("old", "run-2", "INV-2", "C2"),
    ]


def test_a_load_that_fails_midway_leaves_table_rejects_and_report_as_they_were(
    con, tmp_path, monkeypatch
):
    first = write(tmp_path, "accounts.csv", "account_id,name\nC1,a\n,b\n")
    load_export(con, CONTRACT["accounts"], first, "run-1")
    before = [
        con.execute(f"select * from {t} order by all").fetchall()
        for t in ("raw.accounts", "raw.rejects", "raw.load_report")
    ]

    def disk_error(path):
        raise OSError("I/O error while hashing")

    # Fails after the new rows and rejects were written, before the report.
    monkeypatch.setattr("pipelines.ingest.loader.file_sha256", disk_error)
    second = write(tmp_path, "accounts.csv", "account_id,name\nC7,x\n,y\n")
    with pytest.raises(OSError):
        load_export(con, CONTRACT["accounts"], second, "run-2")
    after = [
        con.execute(f"select * from {t} order by all").fetchall()
        for t in ("raw.accounts", "raw.rejects", "raw.load_report")
    ]
    assert after == before
    assert con.execute("select count(*) from duckdb_tables() where temporary").fetchall() == [(0,)]


def test_snapshot_sources_are_replaced_whole(con, tmp_path):
    load_export(
        con,
        CONTRACT["accounts"],
        write(tmp_path, "accounts.csv", "account_id,name\nC1,a\nC2,b\n"),
        "run-1",
    )
    load_export(
        con,
        CONTRACT["accounts"],
        write(tmp_path, "accounts.csv", "account_id,name\nC2,b\n"),
        "run-2",
    )
    assert con.execute("select account_id from raw.accounts").fetchall() == [("C2",)]


def test_absent_optional_file_gives_an_empty_typed_table(con):
    result = load_export(con, CONTRACT["feedback"], None, "run-1")
    assert result.rows_in_table == 0 and result.file_name is None
    assert con.execute("select count(*) from raw.feedback").fetchall() == [(0,)]


def test_load_report_records_counts_and_hash(con, tmp_path):
    path = write(tmp_path, "accounts.csv", "account_id,name\nC1,a\n,b\n")
    load_export(con, CONTRACT["accounts"], path, "run-1")
    row = con.execute(
        "select file_name, rows_read, rows_loaded, rows_rejected, length(sha256) "
        "from raw.load_report where source = 'accounts'"
    ).fetchall()
    assert row == [("accounts.csv", 2, 1, 1, 64)]


def test_parquet_exports_load_through_the_same_checks(con, tmp_path):
    path = tmp_path / "accounts.parquet"
    con.execute(
        f"copy (select * from (values ('C1', 'a', 12), ('', 'b', 3)) "
        f"t(account_id, name, employees)) to '{path}'"
    )
    result = load_export(con, CONTRACT["accounts"], path, "run-1")
    assert (result.rows_read, result.rows_loaded, result.rows_rejected) == (2, 1, 1)
    assert con.execute("select employees from raw.accounts").fetchall() == [(12,)]


def test_a_symlink_out_of_the_landing_folder_is_refused(tmp_path):
    outside = tmp_path / "secret.csv"
    outside.write_text("account_id,name\n")
    landing = tmp_path / "landing"
    landing.mkdir()
    (landing / "accounts.csv").symlink_to(outside)
    with pytest.raises(ContractError, match="outside the landing folder"):
        find_export(landing, CONTRACT["accounts"])


def test_find_export_prefers_csv_and_accepts_parquet(tmp_path):
    (tmp_path / "deals.parquet").write_bytes(b"")
    assert find_export(tmp_path, CONTRACT["deals"]).name == "deals.parquet"
    assert find_export(tmp_path, CONTRACT["leads"]) is None


def test_a_profile_file_name_cannot_leave_the_landing_folder(tmp_path):
    landing = tmp_path / "landing"
    landing.mkdir()
    (tmp_path / "secret.csv").write_text("account_id,name\nX,leak\n")
    (landing / "secret.csv").write_text("account_id,name\nC1,inside\n")
    found = find_export(landing, replace(CONTRACT["accounts"], file_patterns=("../secret.csv",)))
    assert found == landing / "secret.csv"
