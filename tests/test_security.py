"""No personal data in what BI reads; no secrets in the code."""

import csv
import re

import duckdb
import pandas as pd

from pipelines.settings import REPO_ROOT

PERSONAL_COLUMNS = re.compile(r"(full_name|e_?mail|phone|contact_name|contact_title)", re.I)
EMAIL = re.compile(r"[\w.+-]+@[\w-]+\.[\w.]+")
PHONE = re.compile(r"\+?\d[\d ()-]{9,}\d")


def test_no_published_column_holds_contact_names_emails_or_phones(e2e_run):
    contacts = pd.read_csv(e2e_run["exports"] / "contacts.csv", dtype=str)
    personal = set(contacts["full_name"].dropna()) | set(contacts["email"].dropna())
    personal |= set(contacts["phone"].dropna())
    checked = 0
    with duckdb.connect(str(e2e_run["publish"]), read_only=True) as con:
        columns = con.execute(
            "select table_name, column_name from information_schema.columns "
            "where table_schema = 'main'"
        ).fetchall()
        for table, column in columns:
            assert not PERSONAL_COLUMNS.search(column), f"{table}.{column}"
            values = [
                str(v)
                for (v,) in con.execute(
                    f'select distinct "{column}"::varchar from {table}'
                ).fetchall()
                if v is not None
            ]
            leaked = personal.intersection(values)
            assert not leaked, f"{table}.{column}: {sorted(leaked)[:3]}"
            assert not [v for v in values if EMAIL.search(v)], f"{table}.{column} has an email"
            assert not [v for v in values if PHONE.fullmatch(v)], f"{table}.{column} has a phone"
            checked += 1
    assert checked > 100  # every column of every published table


def test_no_connection_string_or_secret_in_the_code():
    secret = re.compile(
        r"(password\s*=\s*['\"][^'\"]+|postgres(ql)?://\w+:\w+@|api[_-]?key\s*=\s*['\"]\w+|"
        r"token\s*=\s*['\"]\w{12,})",
        re.I,
    )
    files = [
        p
        for folder in ("pipelines", "assets", "expectations", "sample_data", "benchmarks", "config")
        for p in (REPO_ROOT / folder).rglob("*")
        if p.is_file() and p.suffix in (".py", ".yml", ".yaml", ".sql")
    ]
    files += [p for p in (REPO_ROOT / "dbt_project").rglob("*.yml") if "target" not in p.parts]
    assert files
    for path in files:
        assert not secret.search(path.read_text(encoding="utf-8")), path


def test_csv_exports_for_spreadsheets_neutralise_formulas(tmp_path):
    from pipelines.publish.export import export_csv

    published = tmp_path / "segments.duckdb"
    with duckdb.connect(str(published)) as con:
        con.execute(
            "create table lead_rankings as select * from (values "
            "('L1', '=HYPERLINK(\"http://x\",\"y\")', -500.00::decimal(18, 2)), "
            "('L2', '+7 900 000', 10.00), ('L3', '@SUM(A1)', 1.00), ('L4', '-1+1', 2.00), "
            "('L5', 'ООО Ромашка', 3.00)) t(lead_id, company_name, amount)"
        )
    out = tmp_path / "leads.csv"
    assert export_csv(published, "lead_rankings", out) == 5
    rows = list(csv.reader(out.open(encoding="utf-8")))
    assert [r[1] for r in rows[1:]] == [
        '\'=HYPERLINK("http://x","y")',
        "'+7 900 000",
        "'@SUM(A1)",
        "'-1+1",
        "ООО Ромашка",
    ]
    assert rows[1][2] == "-500.00"  # a number stays a number
