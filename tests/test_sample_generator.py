"""The sample exports: deterministic, complete, and realistic where the rules look."""

import datetime as dt

import pandas as pd
import pytest

from pipelines.ingest.contract import load_contract
from pipelines.settings import REPO_ROOT
from sample_data.generate import SampleSpec, generate

CONTRACT = load_contract(REPO_ROOT / "config" / "contract.yml")
END = dt.date(2026, 10, 31)


@pytest.fixture(scope="module")
def sample(tmp_path_factory):
    out = tmp_path_factory.mktemp("sample")
    counts = generate(out, SampleSpec(clients=2000, end_date=END, seed=11))
    return out, counts


def test_every_contract_file_is_written_with_its_columns(sample):
    out, counts = sample
    assert set(counts) == set(CONTRACT)
    for name, spec in CONTRACT.items():
        header = set((out / f"{name}.csv").read_text(encoding="utf-8").splitlines()[0].split(","))
        # Of alternative columns (fx: rate_to_reporting or units_per_reporting) one is given.
        alternatives = set(spec.one_of)
        assert not alternatives or header & alternatives, name
        assert header == {c.name for c in spec.columns} - (alternatives - header), name


def test_same_seed_gives_identical_files(sample, tmp_path):
    out, _ = sample
    generate(tmp_path, SampleSpec(clients=2000, end_date=END, seed=11))
    for name in CONTRACT:
        assert (tmp_path / f"{name}.csv").read_bytes() == (out / f"{name}.csv").read_bytes()


@pytest.fixture(scope="module")
def lines(sample) -> pd.DataFrame:
    out, _ = sample
    frame = pd.read_csv(out / "invoice_lines.csv", dtype=str)
    frame["amount"] = pd.to_numeric(frame["amount"], errors="coerce")
    frame["invoice_date"] = pd.to_datetime(
        frame["invoice_date"], format="%Y-%m-%d", errors="coerce"
    )
    return frame.dropna(subset=["amount", "invoice_date", "account_id"])


def test_36_months_of_lines_end_at_the_end_date(lines):
    assert lines["invoice_date"].max().date() <= END
    assert lines["invoice_date"].max().date() >= END - dt.timedelta(days=7)
    months = lines["invoice_date"].dt.to_period("M").nunique()
    assert months == 36


def test_revenue_is_heavy_tailed(lines):
    fx = {"RUB": 1.0, "USD": 92.0, "EUR": 100.0}
    rub = lines["amount"] * lines["currency"].map(fx)
    per_client = rub[lines["status"] != "cancelled"].groupby(lines["account_id"]).sum()
    top = per_client.sort_values(ascending=False)
    share = top.head(int(len(top) * 0.05)).sum() / top.sum()
    assert 0.40 <= share <= 0.65  # about half the revenue on the top 5% of clients


def test_lines_carry_the_realistic_cases(lines):
    assert (lines["amount"] < 0).any()  # credit notes
    assert set(lines["status"]) == {"issued", "paid", "overdue", "cancelled"}
    assert set(lines["currency"]) == {"RUB", "USD", "EUR"}
    months = lines.groupby("account_id")["invoice_date"].apply(
        lambda d: d.dt.to_period("M").nunique()
    )
    assert (months == 1).any()  # one-off buyers
    last = lines.groupby("account_id")["invoice_date"].max()
    assert (last < pd.Timestamp(END) - pd.Timedelta(days=365)).any()  # lapsed clients


def test_crm_files_cover_industries_sizes_potential_and_titles(sample):
    out, _ = sample
    accounts = pd.read_csv(out / "accounts.csv", dtype=str)
    assert accounts["industry"].nunique() == 10
    employees = pd.to_numeric(accounts["employees"])
    assert employees.min() < 10 and employees.max() >= 1000 and employees.isna().any()
    assert set(accounts["potential"].dropna()) == {"high", "medium", "low", "none"}
    deals = pd.read_csv(out / "deals.csv", dtype=str)
    assert (deals["is_closed"] == "false").any() and deals["probability"].isna().any()
    titles = set(pd.read_csv(out / "contacts.csv", dtype=str)["title"])
    assert "Генеральный директор" in titles and "Chief Financial Officer" in titles
    contracts = pd.read_csv(out / "contracts.csv", dtype=str)
    assert contracts["end_date"].notna().all()


def test_defects_are_few_and_deliberate(sample):
    out, _ = sample
    tail = (out / "invoice_lines.csv").read_text(encoding="utf-8").splitlines()[-3:]
    assert all(line.startswith("INV-DEFECT-") for line in tail)
