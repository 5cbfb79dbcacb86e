"""Exchange rates keep full precision (FACTS "Money": at DECIMAL(18,6), 1/4500 becomes
0.000222, 0.1% low on every COP amount). fx_rates takes a rate either way round:
rate_to_reporting (multiplied by) or units_per_reporting (units of the currency per 1
reporting unit, Salesforce's ConversionRate: divided by). The conversion itself is
pinned by the dbt unit test units_per_reporting_are_divided_by_exactly_and_rounded_half_up
and, end to end, by tests/test_revenue_source.py."""

from decimal import Decimal

import duckdb
import pytest

from pipelines.ingest.contract import load_contract
from pipelines.ingest.loader import load_export
from pipelines.settings import REPO_ROOT

CONTRACT = load_contract(REPO_ROOT / "config" / "contract.yml")


@pytest.fixture
def con():
    with duckdb.connect() as connection:
        yield connection


def test_the_contract_takes_either_rate_neither_one_a_key():
    spec = CONTRACT["fx_rates"]
    rate, units = spec.column("rate_to_reporting"), spec.column("units_per_reporting")
    assert (rate.type, units.type) == ("rate", "rate")
    assert not (rate.required or rate.key or units.required or units.key)
    assert set(spec.one_of) == {"rate_to_reporting", "units_per_reporting"}
    assert spec.primary_key == ("rate_date", "currency")


def test_rates_load_at_full_precision_either_way_round(con, tmp_path):
    path = tmp_path / "fx_rates.csv"
    path.write_text(
        "rate_date,currency,rate_to_reporting,units_per_reporting\n"
        "2026-01-01,COP,,4500\n"
        "2026-01-01,IDR,,16000.125\n"
        "2026-01-01,USD,92.123456789012,\n"
        "2026-01-01,EUR,0.000222222222222222,\n",
        encoding="utf-8",
    )
    result = load_export(con, CONTRACT["fx_rates"], path, "run-1")
    assert (result.rows_read, result.rows_loaded, result.rows_rejected) == (4, 4, 0)
    rows = {
        currency: (rate, units)
        for currency, rate, units in con.execute(
            "select currency, rate_to_reporting, units_per_reporting from raw.fx_rates"
        ).fetchall()
    }
    assert rows["COP"] == (None, Decimal("4500"))
    assert rows["IDR"] == (None, Decimal("16000.125"))
    assert rows["USD"] == (Decimal("92.123456789012"), None)
    assert rows["EUR"] == (Decimal("0.000222222222222222"), None)


def test_a_rate_row_with_neither_rate_is_rejected(con, tmp_path):
    path = tmp_path / "fx_rates.csv"
    path.write_text(
        "rate_date,currency,rate_to_reporting,units_per_reporting\n"
        "2026-01-01,COP,,4500\n"
        "2026-01-02,COP,,\n",
        encoding="utf-8",
    )
    result = load_export(con, CONTRACT["fx_rates"], path, "run-1")
    assert (result.rows_read, result.rows_loaded, result.rows_rejected) == (2, 1, 1)
