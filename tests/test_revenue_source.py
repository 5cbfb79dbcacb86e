"""Revenue from won deals for a company whose only system is a CRM (revenue.source:
won_deals), reported in another currency (SEGMENTS_REPORTING_CURRENCY), with rates
given as units of the currency per reporting unit (fx_rates.units_per_reporting).

Each scenario runs the real nightly job once, in this process, with the settings its
SEGMENTS_* variables give (tests/support.py run_exports); the published figures are
then recomputed here independently, with Python's Decimal, to the cent.
"""

from __future__ import annotations

import datetime as dt
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

import duckdb
import pandas as pd
import pytest
from support import Night, run_exports

from assets.config import load_rules
from pipelines.settings import REPO_ROOT

MAVEN = REPO_ROOT / "tests" / "fixtures" / "realdata" / "maven_crm"
CENT = Decimal("0.01")

ACCOUNTS = """account_id,name,industry,employees,region
A1,Andes Ltda,trade,40,Bogota
A2,Azteca SA,services,300,Mexico City
A3,Boston Inc,it,1200,Boston
A4,Late Payer,trade,12,Bogota
"""
# deal_id, account, stage, amount, currency, expected_close_date, closed_at
DEALS = [
    ("D01", "A1", "won", "4500000.00", "COP", "", "2026-06-30"),  # 1,000.00 (not 999.00)
    ("D02", "A1", "won", "22.50", "COP", "", "2026-05-02"),  # 0.005 -> 0.01
    ("D03", "A1", "won", "1234567.89", "COP", "", "2025-11-15"),
    ("D04", "A1", "won", "9000000.00", "COP", "", "2025-03-01"),  # the 12 months before
    ("D05", "A2", "won", "1000.00", "MXN", "", "2026-04-10"),  # 54.945... -> 54.95
    ("D06", "A2", "won", "18.20", "MXN", "2026-02-01", ""),  # dated by its expected close
    ("D07", "A2", "won", "333.33", "MXN", "", "2026-09-30"),  # the latest close: as_of
    ("D08", "A3", "won", "2500.10", "USD", "", "2026-08-15"),  # reporting currency, rate 1
    ("D09", "A3", "won", "777.00", "USD", "", ""),  # no date at all: excluded, listed
    ("D10", "A3", "lost", "5000.00", "USD", "", "2026-07-01"),  # lost: not revenue
    ("D11", "A3", "negotiation", "9999.00", "USD", "2026-12-01", ""),  # open: pipeline
    ("D12", "A4", "won", "100.00", "COP", "", "2026-09-01"),  # 0.0222 -> 0.02
]
RATES = """rate_date,currency,units_per_reporting
2024-01-01,COP,4500
2024-01-01,MXN,18.2
"""
UNITS = {"COP": Decimal("4500"), "MXN": Decimal("18.2"), "USD": Decimal("1")}


def _write_landing(folder: Path) -> None:
    folder.mkdir(parents=True)
    (folder / "accounts.csv").write_text(ACCOUNTS, encoding="utf-8")
    header = "deal_id,account_id,stage,amount,currency,expected_close_date,closed_at\n"
    rows = "".join(",".join(d) + "\n" for d in DEALS)
    (folder / "deals.csv").write_text(header + rows, encoding="utf-8")
    (folder / "fx_rates.csv").write_text(RATES, encoding="utf-8")


WON = {"revenue_source": "won_deals", "reporting_currency": "USD"}


@pytest.fixture(scope="module")
def own_run(tmp_path_factory) -> Night:
    own = tmp_path_factory.mktemp("won-deals")
    _write_landing(own / "exports")
    night = run_exports(own, own / "exports", **WON)
    assert night.success, night.explain()
    return night


@pytest.fixture(scope="module")
def maven_run(tmp_path_factory) -> Night:
    maven = tmp_path_factory.mktemp("maven-won-deals")
    night = run_exports(maven, MAVEN, profile="maven_crm", **WON)
    assert night.success, night.explain()
    return night


def read(path: Path, sql: str) -> pd.DataFrame:
    with duckdb.connect(str(path), read_only=True) as con:
        return con.sql(sql).df()


def to_usd(amount: str, currency: str) -> Decimal:
    """What a converted amount must be: divided by the rate as given, rounded half-up."""
    return (Decimal(amount) / UNITS[currency]).quantize(CENT, rounding=ROUND_HALF_UP)


def expected_windows(as_of: dt.date) -> dict[str, tuple[Decimal, Decimal]]:
    """revenue_t12m and revenue_prev_t12m per account, from DEALS alone."""
    t12m_start = as_of.replace(year=as_of.year - 1)
    prev_start = as_of.replace(year=as_of.year - 2)
    out: dict[str, list[Decimal]] = {}
    for _id, account, stage, amount, currency, expected, closed in DEALS:
        day = closed or expected
        if stage != "won" or not day:
            continue
        day = dt.date.fromisoformat(day)
        sums = out.setdefault(account, [Decimal(0), Decimal(0)])
        if t12m_start < day <= as_of:
            sums[0] += to_usd(amount, currency)
        elif prev_start < day <= t12m_start:
            sums[1] += to_usd(amount, currency)
    return {k: (v[0], v[1]) for k, v in out.items()}


def test_won_deals_are_the_revenue_divided_by_units_per_reporting_to_the_cent(own_run):
    segments = read(
        own_run.published,
        "select account_id, as_of, revenue_t12m::varchar as t12m, "
        "revenue_prev_t12m::varchar as prev from client_segments order by account_id",
    )
    # as_of: the latest close date of a won deal (D07), no invoice_lines export at all.
    as_of = dt.date(2026, 9, 30)
    assert set(segments["as_of"].dt.date) == {as_of}
    expected = expected_windows(as_of)
    got = {r.account_id: (Decimal(r.t12m), Decimal(r.prev)) for r in segments.itertuples()}
    assert got == expected
    # The figures that a rate rounded to 6 decimals (1/4500 = 0.000222) would get wrong.
    assert expected["A1"][0] == Decimal("1000.00") + Decimal("0.01") + Decimal("274.35")
    assert expected["A2"][0] == Decimal("54.95") + Decimal("1.00") + Decimal("18.31")
    assert expected["A3"][0] == Decimal("2500.10")
    assert expected["A4"][0] == Decimal("0.02")


def test_each_won_deal_is_one_paid_line_and_the_undatable_one_is_listed(own_run):
    lines = read(
        own_run.warehouse,
        "select invoice_id, line_no, status, currency, fx_units_per_reporting::double as units, "
        "amount_reporting::varchar as usd, revenue_source from marts.fct_invoice_lines "
        "order by invoice_id",
    )
    won_dated = [d for d in DEALS if d[2] == "won" and (d[5] or d[6])]
    assert list(lines["invoice_id"]) == [f"deal:{d[0]}" for d in won_dated]
    assert set(lines["line_no"]) == {1} and set(lines["status"]) == {"paid"}
    assert set(lines["revenue_source"]) == {"won_deals"}
    for deal, row in zip(won_dated, lines.itertuples(), strict=True):
        assert Decimal(row.usd) == to_usd(deal[3], deal[4]), deal
    assert lines.loc[lines["currency"] == "USD", "units"].isna().all()
    excluded = read(
        own_run.warehouse,
        "select deal_id, reason from intermediate.int_won_deals_excluded_from_revenue",
    )
    assert list(excluded["deal_id"]) == ["D09"]
    assert "cannot be dated" in excluded["reason"].iat[0]


def test_the_reporting_currency_reaches_python_and_dbt(own_run):
    # dbt: the open USD deal is pipeline at rate 1 in USD; the COP lines were divided.
    # (negotiation: the default probability 0.7).
    pipeline = read(
        own_run.warehouse,
        "select account_id, weighted_open_pipeline::varchar as p from marts.dim_clients "
        "where open_deals > 0",
    )
    assert pipeline.to_dict("records") == [{"account_id": "A3", "p": "6999.30"}]
    # Python: the ingest took USD as needing no rate (the USD deals loaded and count),
    # and the reporting currency is what dbt was given.
    manifest = read(
        own_run.warehouse,
        "select distinct currency, fx_rate::double as rate from marts.fct_invoice_lines "
        "where fx_units_per_reporting is null",
    )
    assert manifest.to_dict("records") == [{"currency": "USD", "rate": 1.0}]


def test_env_overrides_the_rules_file(monkeypatch):
    from pipelines.settings import from_env

    monkeypatch.setenv("SEGMENTS_REVENUE_SOURCE", "won_deals")
    monkeypatch.setenv("SEGMENTS_REPORTING_CURRENCY", "usd")
    rules = load_rules(revenue_overrides=from_env().revenue_overrides)
    assert (rules.revenue.source, rules.revenue.reporting_currency) == ("won_deals", "USD")
    variables = rules.dbt_vars(dt.date(2026, 9, 30))
    assert (variables["revenue_source"], variables["reporting_currency"]) == ("won_deals", "USD")
    assert rules.revenue.export_is_required("deals", False)
    assert not rules.revenue.export_is_required("invoice_lines", True)
    assert rules.revenue.export_is_required("accounts", True)
    default = load_rules()
    assert (default.revenue.source, default.revenue.reporting_currency) == ("invoices", "RUB")
    assert default.revenue.export_is_required("invoice_lines", True)
    assert not default.revenue.export_is_required("deals", False)
    monkeypatch.setenv("SEGMENTS_REVENUE_SOURCE", "orders")
    with pytest.raises(ValueError, match="revenue.source must be one of invoices, won_deals"):
        load_rules(revenue_overrides=from_env().revenue_overrides)


def test_maven_crm_publishes_segments_from_its_won_deals(maven_run):
    """The real Maven CRM data set: no billing, no fx_rates (USD is the reporting
    currency), revenue from its won deals. The published total equals the close values
    of the won deals that load (an account, a catalogued product) in the 12 months
    ending at the latest close date."""
    pipeline = pd.read_csv(MAVEN / "sales_pipeline.csv", dtype=str, keep_default_na=False)
    products = set(pd.read_csv(MAVEN / "products.csv", dtype=str)["product"])
    won = pipeline[
        (pipeline["deal_stage"] == "Won")
        & (pipeline["account"] != "")
        & pipeline["product"].isin(products)
    ]
    as_of = dt.date.fromisoformat(won["close_date"].max())
    t12m_start = (pd.Timestamp(as_of) - pd.DateOffset(months=12)).date()
    in_window = won[won["close_date"].map(dt.date.fromisoformat) > t12m_start]
    by_account = in_window.groupby("account")["close_value"].apply(
        lambda values: sum(Decimal(v) for v in values)
    )

    segments = read(
        maven_run.published,
        "select account_id, as_of, segment, revenue_t12m::varchar as t12m from client_segments",
    )
    assert set(segments["as_of"].dt.date) == {as_of}
    got = {r.account_id: Decimal(r.t12m) for r in segments.itertuples() if Decimal(r.t12m)}
    assert got == by_account.to_dict()
    assert len(segments) == won["account"].nunique()
    assert set(segments["segment"]) <= {"vip", "strategic", "typical", "ballast"}


def test_maven_crm_publishes_white_space_and_its_sales_funnel(maven_run):
    """Cross-sell and the funnel on the real Maven CRM set, recomputed from its CSVs:
    the product series are the families (none listed in the rules, so offered to every
    client); a client's white space is every series it won no deal of in the 12 months;
    the funnel counts the won and lost deals that load, closed in the 12 months."""
    pipeline = pd.read_csv(MAVEN / "sales_pipeline.csv", dtype=str, keep_default_na=False)
    products = pd.read_csv(MAVEN / "products.csv", dtype=str).set_index("product")["series"]
    loaded = pipeline[(pipeline["account"] != "") & pipeline["product"].isin(products.index)]
    closed = loaded[loaded["deal_stage"].isin(["Won", "Lost"])].copy()
    as_of = pd.Timestamp(closed.loc[closed["deal_stage"] == "Won", "close_date"].max())
    closed["close"] = pd.to_datetime(closed["close_date"])
    closed = closed[closed["close"] > as_of - pd.DateOffset(months=12)]
    won = closed[closed["deal_stage"] == "Won"]
    base = set(
        loaded.loc[
            (loaded["deal_stage"] == "Won")
            & (pd.to_datetime(loaded["close_date"]) > as_of - pd.DateOffset(months=24)),
            "account",
        ]
    )
    bought = set(zip(won["account"], won["product"].map(products), strict=True))
    expected = {(a, f) for a in base for f in set(products) if (a, f) not in bought}

    cross_sell = read(maven_run.published, "select * from cross_sell")
    assert set(zip(cross_sell["account_id"], cross_sell["product_family"], strict=True)) == expected
    assert expected  # some clients have not won a deal of every series
    assert cross_sell["reason"].str.endswith("fits every client").all()

    funnel = read(maven_run.published, "select * from sales_funnel").set_index(
        ["dimension", "group_value"]
    )
    everything = funnel.loc[("all", "all")]
    assert everything["deals_closed"] == len(closed)
    assert everything["deals_won"] == len(won)
    cycle = (closed["close"] - pd.to_datetime(closed["engage_date"])).dt.days
    assert everything["median_cycle_days"] == cycle.median()
    assert everything["won_amount"] == sum(Decimal(v) for v in won["close_value"])
    # Maven's accounts all give a head count, so every deal has a known size tier.
    assert funnel.loc["sub_segment", "deals_closed"].sum() == len(closed)
    assert "unknown" not in funnel.loc["sub_segment"].index
    # No stage history in the set and one night only: no deal shows its path yet.
    stages = read(maven_run.published, "select count(*) as n from sales_funnel_stages")
    assert stages["n"].iat[0] == 0
