"""Deterministic, realistic sample exports in the generic contract (docs/revenue.md).

Clients are drawn in blocks (`SampleSpec.block_clients`), each block from generators of
its own, and every file is appended to block by block, so memory stays flat whatever the
number of clients: 5 million write 42 GB in about 14 minutes within 1.1 GB of memory
(docs/sample_data.md). The same spec always gives byte-identical files.

    python -m sample_data.generate --out data/exports --clients 5000 --end-date 2026-10-31
"""

from __future__ import annotations

import argparse
import datetime as dt
import logging
import shutil
import tempfile
import time
import zlib
from dataclasses import dataclass
from pathlib import Path
from statistics import NormalDist

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa

log = logging.getLogger(__name__)

INDUSTRIES = np.array(
    [
        "trade",
        "construction",
        "services",
        "government",
        "healthcare",
        "education",
        "manufacturing",
        "hospitality",
        "finance",
        "it",
    ]
)
INDUSTRY_WEIGHTS = np.array([0.22, 0.10, 0.16, 0.07, 0.06, 0.05, 0.12, 0.07, 0.07, 0.08])
REGIONS = np.array(
    [
        "Moscow",
        "Saint Petersburg",
        "Novosibirsk",
        "Yekaterinburg",
        "Kazan",
        "Nizhny Novgorod",
        "Krasnodar",
        "Samara",
        "Rostov-on-Don",
        "Vladivostok",
    ]
)
REGION_WEIGHTS = np.array([0.35, 0.15, 0.07, 0.07, 0.06, 0.06, 0.07, 0.06, 0.06, 0.05])
NAME_WORDS = np.array(
    [
        "Альфа",
        "Вектор",
        "Гранит",
        "Северный",
        "Техно",
        "Сфера",
        "Меридиан",
        "Орион",
        "Ресурс",
        "Прогресс",
        "Импульс",
        "Стандарт",
        "Атлант",
        "Восток",
        "Лидер",
        "Интер",
    ]
)
LEGAL_FORMS = np.array(["ООО", "АО", "ПАО", "ИП", "ГБУ", "ФГУП"])

# (product_code, name, family, is_standard)
PRODUCTS = [
    ("CONF-AUDIO", "Audio conferencing", "conferencing", True),
    ("CONF-WEB", "Web conferencing", "conferencing", True),
    ("VDC-BASIC", "Virtual data centre, basic", "virtual_data_centre", True),
    ("VDC-PRO", "Virtual data centre, dedicated", "virtual_data_centre", False),
    ("VOFFICE", "Virtual office", "virtual_office", True),
    ("CLOUD-PBX", "Cloud telephony", "cloud_telephony", True),
    ("MDM", "Mobile device management", "mobile_device_management", True),
    ("APP-CRM", "CRM application", "business_apps", True),
    ("APP-WMS", "Warehouse application", "business_apps", True),
    ("FREE-8800", "Free-call 8-800 number", "free_call_8800", True),
    ("WIFI-HOT", "Wi-Fi hotspot", "wifi_hotspot", True),
    ("NET-FIBER", "Fibre internet access", "connectivity", True),
    ("NET-VPN", "Corporate VPN", "connectivity", False),
    ("MOBILE", "Corporate mobile plans", "mobile", True),
    ("PROJECT", "Custom integration project", "projects", False),
]
STAGES = np.array(
    ["first_contact", "needs_analysis", "presentation", "objections", "negotiation", "contract"]
)
# The full pipeline in order: the open stages, then the two ends.
PIPELINE = np.r_[STAGES, ["won", "lost"]]
# Furthest open stage a lost deal reached: lower stages likelier, so conversion falls
# along the funnel.
LOST_AT_WEIGHTS = np.array([0.30, 0.24, 0.18, 0.13, 0.09, 0.06])
# Stage changes fall in working hours: from 09:00, for nine hours.
WORK_START = 9 * 3600
WORK_SECONDS = 9 * 3600
TITLES = [
    ("Генеральный директор", "decision_maker"),
    ("CEO", "decision_maker"),
    ("Финансовый директор", "decision_maker"),
    ("Chief Financial Officer", "decision_maker"),
    ("Коммерческий директор", "decision_maker"),
    ("Начальник производства", "technical"),
    ("Руководитель проекта", "technical"),
    ("IT Director", "technical"),
    ("IT-специалист", "end_user"),
    ("менеджер по закупкам", "influencer"),
    ("Procurement Manager", "influencer"),
    ("Office Manager", "end_user"),
]
LEAD_SOURCES = np.array(
    [
        "inbound_request",
        "web_form",
        "call_centre",
        "existing_client_offer",
        "info_request",
        "cold_list",
        "event",
        "referral",
    ]
)
FX_BASE = {"USD": 92.0, "EUR": 100.0}
CURRENCIES = ["RUB", "USD", "EUR"]
CURRENCY_WEIGHTS = [0.85, 0.10, 0.05]
UNITS_PER_RUB = np.array([1.0, FX_BASE["USD"], FX_BASE["EUR"]])  # by CURRENCIES' index
PRODUCT_CODES = [p[0] for p in PRODUCTS]
INVOICE_STATUSES = ["paid", "issued", "overdue", "cancelled"]
STATUS = {name: code for code, name in enumerate(INVOICE_STATUSES)}

# Clients per block. Every block is drawn and written on its own, about 2M invoice lines
# at a time, so the peak memory (about 1 GB) depends on this, not on the clients in all.
BLOCK_CLIENTS = 20_000
LOG_EVERY_BLOCKS = 10

# Each file draws from generators of its own, one per block:
# np.random.default_rng([seed, STREAMS[file], block]). A block needs no other block, and
# changing one file's draws leaves every other file as it was ("clients" holds the traits
# that the billing and CRM files share).
STREAMS = {
    name: zlib.crc32(name.encode())
    for name in (
        "clients",
        "invoice_lines",
        "contracts",
        "accounts",
        "contacts",
        "deals",
        "deal_stage_history",
        "activities",
        "feedback",
        "leads",
        "fx_rates",
    )
}

# Lognormal sigma 1.65 puts about half of the revenue on the top 5% of clients.
SCALE_MEAN, SCALE_SIGMA = 11.0, 1.65
# Employees by size: (share of all clients from the top, lowest, highest + 1). The tiers
# cut the lognormal at its quantiles rather than at ranks in the whole base, so that a
# block needs no other block.
SIZE_TIERS = ((0.02, 1000, 20000), (0.10, 250, 1000), (0.55, 10, 250), (1.0, 1, 10))
# Clients leave at a constant monthly hazard (so tenure is geometric): 6% a year. With the
# declining clients below, about a tenth of the base is lost or shrinking each year; a
# lost client stays in the 24-month base and fires revenue_decline for up to two years.
MONTHLY_CHURN = 1 - 0.94 ** (1 / 12)
ONE_OFF_SHARE = 0.03
# Share of its months a client is billed in: most every month (subscriptions), some now
# and then.
OCCASIONAL_SHARE = 0.03
RECURRING_ACTIVITY = (0.98, 1.0)
OCCASIONAL_ACTIVITY = (0.5, 0.9)
# Spread of a line's amount around the client's monthly spend (lognormal sigma).
LINE_AMOUNT_SIGMA = 0.25
# Monthly drift of the spend, (mean, sd): most clients grow a little (about +5% a year),
# one in twenty declines (about -30% a year), the clients revenue_decline is meant to find.
DECLINING_SHARE = 0.05
GROWING_TREND = (0.004, 0.004)
DECLINING_TREND = (-0.03, 0.01)
# An account's first contact is a decision maker most of the time; with the inactive
# contacts, about one account in ten has no active decision maker (decision_maker_lost).
FIRST_CONTACT_DECISION_MAKER = 0.85
CONTACT_ACTIVE = 0.95
# Answers as B2B surveys give them: about 22% detractors (NPS 0-6), 45% promoters, and
# 8% of CSAT answers at 1 or 2.
NPS_WEIGHTS = [0.02, 0.01, 0.02, 0.02, 0.03, 0.05, 0.07, 0.13, 0.20, 0.22, 0.23]
CSAT_WEIGHTS = [0.03, 0.05, 0.15, 0.40, 0.37]
DECISION_MAKER_TITLES = np.array([i for i, t in enumerate(TITLES) if t[1] == "decision_maker"])
OTHER_TITLES = np.array([i for i, t in enumerate(TITLES) if t[1] != "decision_maker"])


@dataclass(frozen=True)
class SampleSpec:
    clients: int = 5000
    end_date: dt.date = dt.date(2026, 10, 31)
    months: int = 36
    seed: int = 42
    defects: bool = True  # a handful of bad rows, to show the rejects table at work
    # The draws are per block, so the files depend on it too; memory grows with it.
    block_clients: int = BLOCK_CLIENTS


@dataclass(frozen=True)
class Block:
    """Rows first .. first + count - 1 of one kind (clients, prospects or leads), drawn
    with the generators of block `number`."""

    number: int
    first: int
    count: int


def month_starts(end_date: dt.date, months: int) -> pd.DatetimeIndex:
    last = pd.Timestamp(end_date).to_period("M")
    return pd.period_range(last - (months - 1), last, freq="M").to_timestamp()


def blocks(total: int, size: int, first_number: int = 0) -> list[Block]:
    return [
        Block(first_number + i, first, min(size, total - first))
        for i, first in enumerate(range(0, total, size))
    ]


def stream(spec: SampleSpec, name: str, block: int) -> np.random.Generator:
    return np.random.default_rng([spec.seed, STREAMS[name], block])


def _ids(prefix: str, numbers, width: int) -> list[str]:
    return [f"{prefix}{i:0{width}d}" for i in numbers]


def _dates(days: np.ndarray) -> pd.arrays.ArrowExtensionArray:
    """Days (datetime64[D], NaT for none) as a column DuckDB writes as YYYY-MM-DD."""
    return pd.arrays.ArrowExtensionArray(pa.array(days.astype("datetime64[D]"), pa.date32()))


def _days_before(end: np.datetime64, days: np.ndarray) -> np.ndarray:
    return end - days.astype("timedelta64[D]")


def _employees(z: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    employees = np.empty(len(z), dtype=np.int64)
    upper = np.inf
    for top_share, low, high in SIZE_TIERS:
        lower = NormalDist().inv_cdf(1 - top_share) if top_share < 1 else -np.inf
        tier = (z > lower) & (z <= upper)
        employees[tier] = rng.integers(low, high, tier.sum())
        upper = lower
    return employees


def _clients(spec: SampleSpec, block: Block) -> pd.DataFrame:
    rng = stream(spec, "clients", block.number)
    n = block.count
    z = rng.standard_normal(n)
    employees = _employees(z, rng)
    annual_revenue = (employees * rng.lognormal(np.log(4e6), 0.6, n)).round(-3)
    emp_unknown = rng.random(n) < 0.10
    rev_unknown = emp_unknown & (rng.random(n) < 0.3)
    # Lifecycle in months relative to the window: some start before it, some leave.
    start = np.where(rng.random(n) < 0.6, 0, rng.integers(0, spec.months, n))
    end = np.minimum(spec.months - 1, start + rng.geometric(MONTHLY_CHURN, n) - 1)
    one_off = rng.random(n) < ONE_OFF_SHARE
    occasional = rng.random(n) < OCCASIONAL_SHARE
    activity = np.where(
        occasional, rng.uniform(*OCCASIONAL_ACTIVITY, n), rng.uniform(*RECURRING_ACTIVITY, n)
    )
    declining = rng.random(n) < DECLINING_SHARE
    trend = np.where(declining, rng.normal(*DECLINING_TREND, n), rng.normal(*GROWING_TREND, n))
    idx = block.first + np.arange(n)
    return pd.DataFrame(
        {
            "idx": idx,
            "account_id": _ids("C", idx + 1, 7),
            "scale": np.exp(SCALE_MEAN + SCALE_SIGMA * z),
            "employees": pd.array(np.where(emp_unknown, None, employees), dtype="Int64"),
            "annual_revenue": pd.array(np.where(rev_unknown, None, annual_revenue), "Int64"),
            "industry": rng.choice(INDUSTRIES, n, p=INDUSTRY_WEIGHTS),
            "region": rng.choice(REGIONS, n, p=REGION_WEIGHTS),
            "currency": rng.choice(len(CURRENCIES), n, p=CURRENCY_WEIGHTS),  # CURRENCIES' index
            "start": start,
            "end": np.where(one_off, start, end),
            "activity": np.where(one_off, 1.0, activity),
            "late_payer": rng.random(n) < 0.08,
            "trend": trend,
            "n_products": rng.integers(1, 5, n),
        }
    )


# The ids of invoice_lines.csv are formatted by DuckDB: far faster than Python strings.
INVOICE_LINES_SQL = """
    select 'INV-' || invoice_no::varchar as invoice_id,
           line_no,
           printf('C%07d', client + 1) as account_id,
           invoice_date,
           amount::decimal(18, 2) as amount,
           currency,
           product_code,
           status,
           due_date,
           paid_date
    from frame
"""


def _invoice_lines(
    spec: SampleSpec, block: Block, clients: pd.DataFrame, first_invoice: int
) -> tuple[pd.DataFrame, int]:
    """The block's lines, in invoice order, and how many invoices they make."""
    rng = stream(spec, "invoice_lines", block.number)
    n, m = len(clients), spec.months
    month_idx = np.arange(m)
    in_life = (month_idx[None, :] >= clients["start"].to_numpy()[:, None]) & (
        month_idx[None, :] <= clients["end"].to_numpy()[:, None]
    )
    active = in_life & (rng.random((n, m)) < clients["activity"].to_numpy()[:, None])
    client_idx, month_of = np.nonzero(active)  # client by client, month by month
    # About 75 lines per client over 36 months.
    lines_per_month = 1 + rng.poisson(
        np.clip(np.log10(clients["scale"].to_numpy()[client_idx]) - 2.0, 0.5, 8.0)
    )
    line_client = np.repeat(client_idx, lines_per_month)
    line_month = np.repeat(month_of, lines_per_month)
    invoice_seq = np.repeat(np.arange(len(client_idx)), lines_per_month)
    # line_no restarts at 1 within each invoice.
    first_of_invoice = np.r_[0, np.cumsum(lines_per_month)[:-1]]
    line_no = np.arange(len(line_client)) - np.repeat(first_of_invoice, lines_per_month) + 1
    k = len(line_client)

    months = month_starts(spec.end_date, m)
    month_start = months.to_numpy().astype("datetime64[D]")[line_month]
    days_in_month = np.array([p.days_in_month for p in months])[line_month]
    last_month_days = (spec.end_date - months[-1].date()).days + 1
    days_in_month = np.where(line_month == m - 1, last_month_days, days_in_month)
    invoice_date = month_start + (rng.random(k) * days_in_month).astype("timedelta64[D]")

    scale = clients["scale"].to_numpy()[line_client]
    trend = np.exp(clients["trend"].to_numpy()[line_client] * (line_month - m / 2))
    currency = clients["currency"].to_numpy()[line_client]
    fx = UNITS_PER_RUB[currency]
    amount = (
        scale
        * trend
        / 12
        / lines_per_month.repeat(lines_per_month)
        * rng.lognormal(0, LINE_AMOUNT_SIGMA, k)
    )
    amount = np.round(amount / fx, 2)
    credit_note = rng.random(k) < 0.01
    amount = np.where(credit_note, -np.round(amount * rng.uniform(0.1, 0.5, k), 2), amount)

    due_date = invoice_date + np.where(rng.random(k) < 0.7, 30, 14).astype("timedelta64[D]")
    end = np.datetime64(spec.end_date, "D")
    late = clients["late_payer"].to_numpy()[line_client]
    delay = np.where(
        late,
        rng.integers(5, 60, k),
        np.where(rng.random(k) < 0.1, rng.integers(1, 20, k), -rng.integers(0, 10, k)),
    )
    paid_date = due_date + delay.astype("timedelta64[D]")
    # Most clients pay everything; a few lines stay open (disputes), more for late payers.
    unpaid = rng.random(k) < np.where(late, 0.08, 0.0005)
    cancelled = (rng.random(k) < 0.02) & ~credit_note
    is_paid = (paid_date <= end) & ~unpaid & ~cancelled
    status = np.select(
        [cancelled, is_paid, due_date < end],
        [STATUS["cancelled"], STATUS["paid"], STATUS["overdue"]],
        STATUS["issued"],
    )
    n_products = clients["n_products"].to_numpy()[line_client]
    idx = clients["idx"].to_numpy()[line_client]
    product_pick = idx * 7 + rng.integers(0, 4, k) % n_products
    lines = pd.DataFrame(
        {
            "invoice_no": 100000 + first_invoice + invoice_seq,
            "line_no": line_no,
            "client": idx,
            "invoice_date": _dates(invoice_date),
            "amount": amount,
            # Categories: DuckDB writes their text without a string per line in Python.
            "currency": pd.Categorical.from_codes(currency, CURRENCIES),
            "product_code": pd.Categorical.from_codes(product_pick % len(PRODUCTS), PRODUCT_CODES),
            "status": pd.Categorical.from_codes(status, INVOICE_STATUSES),
            "due_date": _dates(due_date),
            "paid_date": _dates(np.where(is_paid, paid_date, np.datetime64("NaT"))),
        }
    )
    return lines, len(client_idx)


def _contracts(spec: SampleSpec, block: Block, clients: pd.DataFrame, first: int) -> pd.DataFrame:
    rng = stream(spec, "contracts", block.number)
    end = np.datetime64(spec.end_date, "D")
    has_contract = rng.random(len(clients)) < 0.5
    k = int(has_contract.sum())
    start = _days_before(end, rng.integers(30, 1000, k))
    length = rng.choice([365, 730, 1095], k).astype("timedelta64[D]")
    return pd.DataFrame(
        {
            "contract_id": _ids("K-", range(first + 1, first + k + 1), 7),
            "account_id": clients["account_id"].to_numpy()[has_contract],
            "start_date": _dates(start),
            "end_date": _dates(start + length),
            "product_code": rng.choice(PRODUCT_CODES, k),
            "monthly_fee": np.round(clients["scale"].to_numpy()[has_contract] / 12 * 0.5, 2),
            "auto_renew": rng.random(k) < 0.6,
        }
    )


def _account_rows(
    spec: SampleSpec, rng: np.random.Generator, first_number: int, traits: dict, forms
) -> pd.DataFrame:
    """accounts.csv rows, named with the numbers from first_number + 1 on; traits:
    account_id, industry, employees, annual_revenue and region, drawn by the caller."""
    total = len(traits["account_id"])
    words = rng.choice(NAME_WORDS, (total, 2))
    accounts = pd.DataFrame(traits)
    accounts["name"] = [
        f"{f} «{a}-{b}» {i}"
        for i, f, a, b in zip(
            range(first_number + 1, first_number + total + 1),
            forms,
            words[:, 0],
            words[:, 1],
            strict=True,
        )
    ]
    accounts["inn"] = np.char.add("77", rng.integers(10**7, 10**8, total).astype(str))
    accounts["city"] = accounts["region"]
    accounts["is_government"] = accounts["industry"].eq("government")
    # A parent may be any billed client, in this block or another.
    parent = np.where(
        rng.random(total) < 0.05, _ids("C", rng.integers(1, spec.clients + 1, total), 7), ""
    )
    accounts["parent_account_id"] = np.where(parent == accounts["account_id"], "", parent)
    accounts["owner"] = _ids("manager_", rng.integers(1, 40, total), 2)
    accounts["potential"] = rng.choice(
        ["high", "medium", "low", "none", ""], total, p=[0.08, 0.2, 0.25, 0.07, 0.4]
    )
    end = np.datetime64(spec.end_date, "D")
    accounts["created_at"] = _dates(_days_before(end, rng.integers(30, 3000, total)))
    columns = ["account_id", "name", "inn", "industry", "employees", "annual_revenue", "region"]
    columns += ["city", "is_government", "parent_account_id", "owner", "potential", "created_at"]
    return accounts[columns]


def _client_accounts(spec: SampleSpec, block: Block, clients: pd.DataFrame) -> pd.DataFrame:
    rng = stream(spec, "accounts", block.number)
    government = clients["industry"].to_numpy() == "government"
    forms = np.where(government, "ГБУ", rng.choice(LEGAL_FORMS[:4], len(clients)))
    traits = clients[["account_id", "industry", "employees", "annual_revenue", "region"]]
    accounts = _account_rows(spec, rng, block.first, traits.to_dict("series"), forms)
    # 0.3% of billed clients are missing from the CRM.
    return accounts[rng.random(len(accounts)) >= 0.003].reset_index(drop=True)


def _prospect_accounts(spec: SampleSpec, block: Block) -> pd.DataFrame:
    """CRM accounts that never bought: about one for every ten clients."""
    rng = stream(spec, "accounts", block.number)
    n = block.count
    traits = {
        "account_id": _ids("P", range(block.first + 1, block.first + n + 1), 7),
        "industry": rng.choice(INDUSTRIES, n),
        "employees": pd.array(rng.integers(1, 500, n), dtype="Int64"),
        "annual_revenue": pd.array(np.full(n, None), dtype="Int64"),
        "region": rng.choice(REGIONS, n),
    }
    forms = rng.choice(LEGAL_FORMS[:2], n)
    return _account_rows(spec, rng, spec.clients + block.first, traits, forms)


TITLE_NAMES = np.array([title for title, _ in TITLES])
TITLE_ROLES = np.array([role for _, role in TITLES])


def _contacts(spec: SampleSpec, block_number: int, ids: np.ndarray, first: int) -> pd.DataFrame:
    rng = stream(spec, "contacts", block_number)
    n_contacts = rng.integers(1, 5, len(ids))
    title_idx = rng.integers(0, len(TITLES), n_contacts.sum())
    first_of_account = np.cumsum(n_contacts) - n_contacts
    title_idx[first_of_account] = np.where(
        rng.random(len(ids)) < FIRST_CONTACT_DECISION_MAKER,
        rng.choice(DECISION_MAKER_TITLES, len(ids)),
        rng.choice(OTHER_TITLES, len(ids)),
    )
    numbers = range(first + 1, first + len(title_idx) + 1)
    return pd.DataFrame(
        {
            "contact_id": _ids("K", numbers, 8),
            "account_id": np.repeat(ids, n_contacts),
            "full_name": [f"Contact {i}" for i in numbers],
            "title": TITLE_NAMES[title_idx],
            "role": TITLE_ROLES[title_idx],
            "email": [f"contact{i}@example.com" for i in numbers],
            "phone": _ids("+7900", numbers, 7),
            "is_active": rng.random(len(title_idx)) < CONTACT_ACTIVE,
        }
    )


DEAL_DAYS = ("created_at", "expected_close_date", "closed_at")


def _deals(
    spec: SampleSpec, block_number: int, ids: np.ndarray, scale: np.ndarray, first: int
) -> pd.DataFrame:
    """The block's deals, with DEAL_DAYS as datetime64 (the stage history reads them)."""
    rng = stream(spec, "deals", block_number)
    end = np.datetime64(spec.end_date, "D")
    n_deals = rng.poisson(1.2, len(ids))
    d = int(n_deals.sum())
    is_closed = rng.random(d) < 0.55
    is_won = is_closed & (rng.random(d) < 0.5)
    created = _days_before(end, rng.integers(1, 720, d))
    closed = np.minimum(created + rng.integers(10, 180, d).astype("timedelta64[D]"), end)
    probability = np.where(
        is_closed, np.nan, np.where(rng.random(d) < 0.5, rng.integers(1, 10, d) / 10, np.nan)
    )
    return pd.DataFrame(
        {
            "deal_id": _ids("D", range(first + 1, first + d + 1), 8),
            "account_id": np.repeat(ids, n_deals),
            "stage": np.where(is_won, "won", np.where(is_closed, "lost", rng.choice(STAGES, d))),
            "amount": np.round(np.repeat(scale, n_deals) * rng.uniform(0.05, 0.6, d), 2),
            "currency": "RUB",
            "product_code": rng.choice(PRODUCT_CODES, d),
            "probability": probability,
            "created_at": created,
            "expected_close_date": created + rng.integers(30, 200, d).astype("timedelta64[D]"),
            "closed_at": np.where(is_closed, closed, np.datetime64("NaT")),
            "is_won": is_won,
            "is_closed": is_closed,
        }
    )


def _deal_stage_history(spec: SampleSpec, block_number: int, deals: pd.DataFrame) -> pd.DataFrame:
    """One row per time a deal entered a stage, consistent with deals.csv."""
    rng = stream(spec, "deal_stage_history", block_number)
    d = len(deals)
    won = deals["is_won"].to_numpy(bool)
    closed = deals["is_closed"].to_numpy(bool)
    # Furthest open stage: a won deal went through contract, an open one is where it is.
    lost_at = rng.choice(len(STAGES), d, p=LOST_AT_WEIGHTS)
    top = np.where(
        won,
        len(STAGES) - 1,
        np.where(closed, lost_at, pd.Index(STAGES).get_indexer(deals["stage"])),
    )
    # About 10% of all deals skip one stage between first_contact and the furthest one
    # (70% of the deals have such a stage, hence 0.14).
    skipped = np.where((top >= 2) & (rng.random(d) < 0.14), rng.integers(1, np.maximum(top, 2)), -1)
    # About 5% of the deals date from before the CRM kept history.
    no_history = rng.random(d) < 0.05

    per_deal = top + 1 + closed
    deal = np.repeat(np.arange(d), per_deal)
    step = np.arange(len(deal)) - np.repeat(np.cumsum(per_deal) - per_deal, per_deal)
    end_code = np.where(won, len(STAGES), len(STAGES) + 1)[deal]
    stage = np.where(step <= top[deal], step, end_code)
    keep = (stage != skipped[deal]) & ~no_history[deal]
    deal, stage = deal[keep], stage[keep]
    is_end = stage >= len(STAGES)

    # Times in working seconds since the epoch (WORK_SECONDS a day): strictly increasing
    # working-hour positions map back to strictly increasing timestamps.
    def day(values: pd.Series) -> np.ndarray:
        return values.to_numpy().astype("datetime64[D]").astype(np.int64)

    last_day = np.datetime64(spec.end_date, "D").astype(np.int64)
    t0 = day(deals["created_at"]) * WORK_SECONDS + rng.integers(0, WORK_SECONDS, d)
    t1 = np.where(
        closed,
        day(deals["closed_at"].where(closed, pd.Timestamp(spec.end_date))) * WORK_SECONDS
        + rng.integers(0, WORK_SECONDS, d),
        (last_day + 1) * WORK_SECONDS,  # open deals: before the end date is over
    )
    # Room for the stages in between; it stays on the closing day (closed_at > created_at).
    t1 = np.maximum(t1, t0 + len(PIPELINE))
    # The stages in between at sorted uniform points of (t0, t1); adding their rank
    # keeps two of them from falling on the same second.
    u = np.where(step[keep] == 0, -1.0, np.where(is_end, 2.0, rng.random(len(deal))))
    u = u[np.lexsort((u, deal))]
    rank = pd.Series(deal).groupby(deal).cumcount().to_numpy()
    between = top - (skipped >= 0)  # stages strictly between first_contact and the end
    pos = np.where(
        rank == 0,
        t0[deal],
        np.where(
            is_end,
            t1[deal],
            t0[deal] + rank + (u * (t1 - t0 - between - 1)[deal]).astype(np.int64),
        ),
    )
    changed_at = (pos // WORK_SECONDS) * 86400 + WORK_START + pos % WORK_SECONDS
    return pd.DataFrame(
        {
            "deal_id": deals["deal_id"].to_numpy()[deal],
            "stage": PIPELINE[stage],
            "changed_at": changed_at.astype("datetime64[s]"),
        }
    )


def _activities(spec: SampleSpec, block_number: int, ids: np.ndarray, first: int) -> pd.DataFrame:
    rng = stream(spec, "activities", block_number)
    n_act = rng.poisson(4, len(ids))
    a = int(n_act.sum())
    day = _days_before(np.datetime64(spec.end_date, "D"), rng.integers(0, 365, a))
    minute = rng.integers(8 * 60, 19 * 60, a).astype("timedelta64[m]")
    return pd.DataFrame(
        {
            "activity_id": _ids("A", range(first + 1, first + a + 1), 8),
            "account_id": np.repeat(ids, n_act),
            "occurred_at": (day + minute).astype("datetime64[s]"),
            "type": rng.choice(["call", "meeting", "email"], a),
            "contact_id": "",
        }
    )


def _feedback(spec: SampleSpec, block_number: int, ids: np.ndarray) -> pd.DataFrame:
    rng = stream(spec, "feedback", block_number)
    answered = rng.random(len(ids)) < 0.3
    f = int(answered.sum())
    return pd.DataFrame(
        {
            "account_id": ids[answered],
            "answered_at": _dates(
                _days_before(np.datetime64(spec.end_date, "D"), rng.integers(0, 365, f))
            ),
            "nps": rng.choice(11, f, p=NPS_WEIGHTS),
            "csat": rng.choice(np.arange(1, 6), f, p=CSAT_WEIGHTS),
            "is_complaint": rng.random(f) < 0.07,
        }
    )


def _leads(spec: SampleSpec, block: Block) -> pd.DataFrame:
    rng = stream(spec, "leads", block.number)
    n = block.count
    numbers = range(block.first + 1, block.first + n + 1)
    end = np.datetime64(spec.end_date, "D")
    leads = pd.DataFrame(
        {
            "lead_id": _ids("L", numbers, 7),
            "company_name": [
                f"ООО «{w}» {i}" for i, w in zip(numbers, rng.choice(NAME_WORDS, n), strict=True)
            ],
            "inn": np.char.add("50", rng.integers(10**7, 10**8, n).astype(str)),
            # About 8% of prospects come from industries outside the target profile.
            "industry": np.where(
                rng.random(n) < 0.08,
                rng.choice(["agriculture", "mining", "non-profit"], n),
                rng.choice(INDUSTRIES, n, p=INDUSTRY_WEIGHTS),
            ),
            # From sole traders (1-4 people, outside the profile) to enterprises.
            "employees": np.clip(rng.lognormal(np.log(60), 1.5, n), 1, 20000).astype(int),
            "annual_revenue": np.round(rng.lognormal(np.log(2e8), 1.5, n), -3).astype(int),
            "region": rng.choice(REGIONS, n, p=REGION_WEIGHTS),
            "source": rng.choice(LEAD_SOURCES, n),
            "budget": np.where(
                rng.random(n) < 0.6, np.round(rng.lognormal(np.log(3e5), 1.0, n), 2), np.nan
            ),
            "currency": "RUB",
            "need": rng.choice(["confirmed", "interested", "researching", "unknown"], n),
            "decision_date": _dates(end + rng.integers(-30, 400, n).astype("timedelta64[D]")),
            "contact_role": "",
            "contact_title": TITLE_NAMES[rng.integers(0, len(TITLES), n)],
            "product_code": rng.choice(PRODUCT_CODES, n),
            "created_at": _dates(_days_before(end, rng.integers(1, 200, n))),
        }
    )
    for col in ("bant_budget", "bant_authority", "bant_need", "bant_time"):
        bant = np.where(rng.random(n) < 0.05, rng.integers(1, 6, n), np.nan)
        leads[col] = pd.array(bant, dtype="Int64")
    return leads


def _fx_rates(spec: SampleSpec) -> pd.DataFrame:
    rng = stream(spec, "fx_rates", 0)
    days = pd.date_range(
        pd.Timestamp(spec.end_date) - pd.DateOffset(months=spec.months + 1), spec.end_date
    )
    # Business days only: weekend invoices take Friday's rate (the latest earlier one).
    days = days[days.day_of_week < 5]
    frames = []
    for currency, base in FX_BASE.items():
        walk = base * np.exp(np.cumsum(rng.normal(0, 0.006, len(days))))
        frames.append(
            pd.DataFrame(
                {"rate_date": days.date, "currency": currency, "rate_to_reporting": walk.round(4)}
            )
        )
    return pd.concat(frames, ignore_index=True)


class CsvFiles:
    """The export files, appended to block by block: DuckDB writes each block to a part
    file (with the header for a file's first block only), added to the end of the file.
    The parts live in a folder of their own, so that a failed run leaves none among the
    exports."""

    def __init__(self, out_dir: Path):
        self.out_dir = out_dir
        self.rows: dict[str, int] = {}
        self._files = {}
        self._parts = tempfile.TemporaryDirectory(prefix="sample-parts-")
        self._con = duckdb.connect()
        self._con.execute("set enable_progress_bar = false")  # the log says how far it got

    def __enter__(self) -> CsvFiles:
        return self

    def __exit__(self, *exc) -> None:
        for handle in self._files.values():
            handle.close()
        self._con.close()
        self._parts.cleanup()

    def written(self, name: str) -> int:
        return self.rows.get(name, 0)

    def append(self, name: str, frame: pd.DataFrame, query: str | None = None) -> None:
        """Add the frame's rows to <name>.csv, formatted by query (a select from `frame`);
        without one as they are, empty strings as empty fields (NULL), as CRM exports do."""
        if query is None:
            frame, query = frame.replace("", None), "select * from frame"
        first = name not in self._files
        if first:
            self._files[name] = (self.out_dir / f"{name}.csv").open("wb")
        part = Path(self._parts.name) / f"{name}.csv"
        self._con.register("frame", frame)
        self._con.execute(f"copy ({query}) to '{part}' (header {first}, delimiter ',')")
        self._con.unregister("frame")
        with part.open("rb") as source:
            shutil.copyfileobj(source, self._files[name], 1 << 24)
        part.unlink()
        self.rows[name] = self.written(name) + len(frame)


def _write_crm(
    files: CsvFiles, spec: SampleSpec, block_number: int, accounts: pd.DataFrame, scale
) -> None:
    """The CRM rows of a block's accounts; scale sizes their deals."""
    ids = accounts["account_id"].to_numpy()
    files.append("accounts", accounts)
    files.append("contacts", _contacts(spec, block_number, ids, files.written("contacts")))
    deals = _deals(spec, block_number, ids, scale, files.written("deals"))
    files.append("deals", deals.assign(**{c: _dates(deals[c].to_numpy()) for c in DEAL_DAYS}))
    files.append("deal_stage_history", _deal_stage_history(spec, block_number, deals))
    files.append("activities", _activities(spec, block_number, ids, files.written("activities")))
    files.append("feedback", _feedback(spec, block_number, ids))


def _write_clients(files: CsvFiles, spec: SampleSpec, client_blocks: list[Block]) -> None:
    started = time.monotonic()
    invoices = 0
    for block in client_blocks:
        clients = _clients(spec, block)
        lines, block_invoices = _invoice_lines(spec, block, clients, invoices)
        invoices += block_invoices
        files.append("invoice_lines", lines, INVOICE_LINES_SQL)
        files.append("contracts", _contracts(spec, block, clients, files.written("contracts")))
        accounts = _client_accounts(spec, block, clients)
        scale = clients.set_index("account_id")["scale"].reindex(accounts["account_id"])
        _write_crm(files, spec, block.number, accounts, scale.to_numpy())
        if (block.number + 1) % LOG_EVERY_BLOCKS == 0 or block is client_blocks[-1]:
            done = block.first + block.count
            log.info(
                "clients %s of %s, %s invoice lines written (%.0f s)",
                f"{done:,}",
                f"{spec.clients:,}",
                f"{files.written('invoice_lines'):,}",
                time.monotonic() - started,
            )


def generate(out_dir: Path, spec: SampleSpec = SampleSpec()) -> dict[str, int]:
    """Write every export file of the generic contract into out_dir; returns rows per file."""
    out_dir.mkdir(parents=True, exist_ok=True)
    client_blocks = blocks(spec.clients, spec.block_clients)
    # Prospects' blocks are numbered on from the clients', so that no two share generators.
    prospect_blocks = blocks(max(1, spec.clients // 10), spec.block_clients, len(client_blocks))
    with CsvFiles(out_dir) as files:
        _write_clients(files, spec, client_blocks)
        for block in prospect_blocks:
            scale = np.full(block.count, 2e5)  # no spend to size prospects' deals by
            _write_crm(files, spec, block.number, _prospect_accounts(spec, block), scale)
        for block in blocks(max(1, spec.clients // 5), spec.block_clients):
            files.append("leads", _leads(spec, block))
        files.append("fx_rates", _fx_rates(spec))
        products = pd.DataFrame(PRODUCTS, columns=["product_code", "name", "family", "is_standard"])
        files.append("products", products)
    counts = dict(files.rows)
    if spec.defects:
        counts["invoice_lines"] += _append_defects(out_dir / "invoice_lines.csv")
        counts["deal_stage_history"] += _append_history_defects(out_dir / "deal_stage_history.csv")
    return counts


def _append_defects(path: Path) -> int:
    """Lines a real billing export carries now and then; each must end up in the rejects."""
    defects = [
        "INV-DEFECT-1,1,,2026-01-15,100.00,RUB,MOBILE,issued,2026-02-14,",  # no account_id
        "INV-DEFECT-2,1,C0000001,2026-01-15,12O.50,RUB,MOBILE,issued,2026-02-14,",  # letter O
        "INV-DEFECT-3,1,C0000001,2026-02-30,99.00,RUB,MOBILE,issued,2026-02-14,",  # no such date
    ]
    with path.open("a", encoding="utf-8") as handle:
        handle.write("\n".join(defects) + "\n")
    return len(defects)


def _append_history_defects(path: Path) -> int:
    """Rows a CRM history export carries now and then; each must end up in the rejects."""
    with path.open(encoding="utf-8") as handle:  # the first won deal is near the top
        deal_id, _, changed_at = next(row for row in handle if ",won," in row).rstrip().split(",")
    defects = [
        f"{deal_id},Closed Won,{changed_at}",  # another system's stage name
        f"{deal_id},negotiation,2026-02-30 11:15:00",  # no such date
    ]
    with path.open("a", encoding="utf-8") as handle:
        handle.write("\n".join(defects) + "\n")
    return len(defects)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, required=True, help="landing folder to write into")
    parser.add_argument("--clients", type=int, default=5000)
    parser.add_argument("--end-date", type=dt.date.fromisoformat, default=SampleSpec.end_date)
    parser.add_argument("--months", type=int, default=36)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--no-defects", action="store_true", help="write only valid rows")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    spec = SampleSpec(args.clients, args.end_date, args.months, args.seed, not args.no_defects)
    counts = generate(args.out, spec)
    for name, rows in counts.items():
        log.info("%-18s %10d rows", name, rows)
    log.info("sample exports written to %s", args.out.resolve())


if __name__ == "__main__":
    main()
