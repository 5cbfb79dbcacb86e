"""The Stripe profile (config/profiles/stripe.yml) on Dashboard exports in Stripe's own
layout (tests/fixtures/native/stripe: exact header lines, rows written by hand), and
the real nightly job on them: Stripe as the billing system, customers as accounts."""

from __future__ import annotations

import datetime as dt
import shutil
from decimal import ROUND_HALF_UP, Decimal

import duckdb
import pytest
from support import run_exports

from pipelines.ingest.contract import load_contract
from pipelines.ingest.loader import RowRules, find_export, load_export
from pipelines.settings import REPO_ROOT

CONTRACT_PATH = REPO_ROOT / "config" / "contract.yml"
PROFILE = REPO_ROOT / "config" / "profiles" / "stripe.yml"
FIXTURES = REPO_ROOT / "tests" / "fixtures" / "native" / "stripe"
LAYOUTS = REPO_ROOT.parent / "shared" / "realdata" / "native_layouts" / "stripe"
AS_OF = dt.date(2026, 11, 30)
EUR_RATE = Decimal("1.08")  # fx_rates.csv given beside the Stripe exports


@pytest.fixture(scope="module")
def contract():
    return load_contract(CONTRACT_PATH, [PROFILE])


def load(contract, source: str, rules: RowRules | None = None):
    rules = rules or RowRules()
    con = duckdb.connect()
    path = find_export(FIXTURES, contract[source])
    return con, path, load_export(con, contract[source], path, "run-1", rules)


def counts(result) -> tuple[int, int, int, int]:
    return result.rows_read, result.rows_loaded, result.rows_filtered, result.rows_rejected


@pytest.mark.parametrize(
    ("fixture", "layout"),
    [("invoices.csv", "invoices.header.csv"), ("unified_customers.csv", "customers.header.csv")],
)
def test_fixtures_carry_the_exact_stripe_header_lines(fixture, layout):
    first = (FIXTURES / fixture).read_bytes().split(b"\n", 1)[0] + b"\n"
    assert first == (LAYOUTS / layout).read_bytes()


def test_invoices_load_as_one_line_each_net_of_tax_with_stripe_statuses(contract):
    con, path, result = load(contract, "invoice_lines", RowRules(as_of=AS_OF))
    assert path.name == "invoices.csv"
    # 11 invoices: 2 drafts filtered, 1 dated after as_of rejected, 8 loaded.
    assert counts(result) == (11, 8, 2, 1)
    assert result.filter_reasons == {"draft invoice: not billed yet (Stripe status draft)": 2}
    assert result.reject_reasons == {"invoice_date is after the run's as_of 2026-11-30": 1}
    rows = con.execute(
        "select invoice_id, line_no, account_id, invoice_date::varchar, amount::varchar, "
        "currency, status, due_date::varchar, paid_date from raw.invoice_lines "
        "order by _source_line"
    ).fetchall()
    assert rows == [
        ("in_1NnA8kLkdIwHu7ixAcme0001", 1, "cus_OaAcme0001", "2026-03-05", "160.00", "USD",
         "paid", None, None),
        # Subtotal 200 - discount 20 + tax 14.40 = Total 194.40: revenue 180.00 (no tax);
        # paid: its due date is dropped (no payment date to tell it was paid on time).
        ("in_1NnA8kLkdIwHu7ixAcme0002", 1, "cus_OaAcme0001", "2026-06-05", "180.00", "USD",
         "paid", None, None),
        ("in_1NnA8kLkdIwHu7ixAcme0003", 1, "cus_OaAcme0001", "2025-10-15", "300.00", "USD",
         "paid", None, None),
        ("in_1NnB2mLkdIwHu7ixBeta0001", 1, "cus_ObBeta0002", "2026-10-01", "1000.00", "USD",
         "issued", "2026-10-31", None),
        ("in_1NnB2mLkdIwHu7ixBeta0002", 1, "cus_ObBeta0002", "2026-04-01", "500.00", "USD",
         "cancelled", "2026-05-01", None),
        ("in_1NnC3pLkdIwHu7ixGamm0001", 1, "cus_OcGamma003", "2026-02-10", "75.50", "USD",
         "overdue", "2026-03-12", None),
        # A 100% coupon: Total 0.00 loads as a zero line, not as a missing amount.
        ("in_1NnC3pLkdIwHu7ixGamm0002", 1, "cus_OcGamma003", "2026-07-01", "0.00", "USD",
         "paid", None, None),
        ("in_1NnD4qLkdIwHu7ixDelt0001", 1, "cus_OdDelta004", "2026-05-15", "100.00", "EUR",
         "paid", None, None),
    ]  # fmt: skip
    (reject,) = con.execute("select line, column_name, value from raw.rejects").fetchall()
    assert reject == (11, "invoice_date", "2026-12-03 10:00")
    # Columns the contract has no place for are said so (not silently dropped).
    assert {"Amount Due", "Amount Paid", "Subtotal", "Paid"} <= set(result.extra_columns)


def test_a_currency_without_a_rate_is_rejected_until_fx_rates_names_it(contract):
    # With USD reporting and no fx_rates.csv, the EUR invoice has no rate.
    con, _, result = load(contract, "invoice_lines", RowRules(known_values={"currency": ("USD",)}))
    assert counts(result) == (11, 8, 2, 1)
    (reason,) = con.execute("select reason from raw.rejects where line = 10").fetchone()
    assert reason == "unknown currency: not in fx_rates.currency (USD)"


def test_customers_are_the_accounts_named_by_name_else_description(contract):
    con, path, result = load(contract, "accounts")
    assert path.name == "unified_customers.csv"
    assert counts(result) == (5, 5, 0, 0)
    rows = con.execute(
        "select account_id, name, created_at::varchar from raw.accounts order by account_id"
    ).fetchall()
    assert rows == [
        ("cus_OaAcme0001", "Acme Corp", "2023-09-08"),
        ("cus_ObBeta0002", "Beta LLC (invoiced by bank transfer)", "2024-01-17"),
        ("cus_OcGamma003", "Gamma, Inc.", "2024-05-02"),
        ("cus_OdDelta004", "Delta GmbH", "2025-02-28"),
        ("cus_OeEpsil005", None, "2026-11-01"),
    ]
    # The CRM id in the metadata column is not the key (a profile cannot join files).
    assert "account_id (metadata)" in result.extra_columns


def expected_t12m() -> dict[str, Decimal]:
    """revenue_t12m per customer, by hand from invoices.csv: paid, open (issued) and
    uncollectible (overdue) invoices of (as_of - 12 months, as_of]; void and draft ones
    are not revenue, the December invoice is after as_of, EUR at the given rate."""
    usd = {
        "cus_OaAcme0001": Decimal("160.00") + Decimal("180.00"),  # 2025-10-15 is earlier
        "cus_ObBeta0002": Decimal("1000.00"),  # open; the void 500.00 does not count
        "cus_OcGamma003": Decimal("75.50") + Decimal("0.00"),  # uncollectible + free
    }
    eur = (Decimal("100.00") * EUR_RATE).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
    return {**usd, "cus_OdDelta004": eur}


def test_the_nightly_job_publishes_stripe_revenue_per_customer(tmp_path):
    landing = tmp_path / "exports"
    shutil.copytree(FIXTURES, landing, ignore=shutil.ignore_patterns("*.md"))
    (landing / "fx_rates.csv").write_text(
        f"rate_date,currency,rate_to_reporting\n2026-01-01,EUR,{EUR_RATE}\n", encoding="utf-8"
    )
    night = run_exports(
        tmp_path,
        landing,
        profile="stripe",
        as_of=AS_OF,
        revenue_source="invoices",
        reporting_currency="USD",
    )
    assert night.success, night.explain()
    with duckdb.connect(str(night.published), read_only=True) as con:
        rows = con.execute(
            "select account_id, as_of::varchar, revenue_t12m::varchar, "
            "revenue_prev_t12m::varchar from client_segments order by account_id"
        ).fetchall()
    assert {r[1] for r in rows} == {AS_OF.isoformat()}
    assert {r[0]: Decimal(r[2]) for r in rows} == expected_t12m()
    assert {r[0]: Decimal(r[3]) for r in rows}["cus_OaAcme0001"] == Decimal("300.00")
