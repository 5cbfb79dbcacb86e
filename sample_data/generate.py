"""Deterministic, realistic sample exports in the generic contract (docs/revenue.md).

Per-client draws are vectorised with numpy and the files are written by DuckDB, so
100,000 clients (about 10M invoice lines) take well under a minute. The same seed
always gives byte-identical files.

    python -m sample_data.generate --out data/exports --clients 5000 --end-date 2026-10-31
"""

from __future__ import annotations

import argparse
import datetime as dt
import logging
from dataclasses import dataclass
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd

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


@dataclass(frozen=True)
class SampleSpec:
    clients: int = 5000
    end_date: dt.date = dt.date(2026, 10, 31)
    months: int = 36
    seed: int = 42
    defects: bool = True  # a handful of bad rows, to show the rejects table at work


def month_starts(end_date: dt.date, months: int) -> pd.DatetimeIndex:
    last = pd.Timestamp(end_date).to_period("M")
    return pd.period_range(last - (months - 1), last, freq="M").to_timestamp()


def _clients(spec: SampleSpec, rng: np.random.Generator) -> pd.DataFrame:
    n = spec.clients
    # Lognormal sigma 1.65 puts about half of the revenue on the top 5% of clients.
    scale = rng.lognormal(mean=11.0, sigma=1.65, size=n)
    size_rank = np.argsort(np.argsort(-scale)) / max(n - 1, 1)  # 0 = biggest
    employees = np.where(
        size_rank < 0.02,
        rng.integers(1000, 20000, n),
        np.where(
            size_rank < 0.10,
            rng.integers(250, 1000, n),
            np.where(size_rank < 0.55, rng.integers(10, 250, n), rng.integers(1, 10, n)),
        ),
    )
    annual_revenue = (employees * rng.lognormal(np.log(4e6), 0.6, n)).round(-3)
    emp_unknown = rng.random(n) < 0.10
    rev_unknown = emp_unknown & (rng.random(n) < 0.3)
    industry = rng.choice(INDUSTRIES, n, p=INDUSTRY_WEIGHTS)
    # Lifecycle in months relative to the window: some start before it, some churn early.
    start = np.where(rng.random(n) < 0.6, 0, rng.integers(0, spec.months, n))
    lapsed = rng.random(n) < 0.12
    end = np.where(
        lapsed, np.minimum(spec.months - 1, start + rng.integers(1, 24, n)), spec.months - 1
    )
    one_off = rng.random(n) < 0.06
    end = np.where(one_off, start, end)
    return pd.DataFrame(
        {
            "idx": np.arange(n),
            "account_id": [f"C{i:07d}" for i in range(1, n + 1)],
            "scale": scale,
            "employees": np.where(emp_unknown, np.nan, employees),
            "annual_revenue": np.where(rev_unknown, np.nan, annual_revenue),
            "industry": industry,
            "region": rng.choice(REGIONS, n, p=REGION_WEIGHTS),
            "currency": rng.choice(["RUB", "USD", "EUR"], n, p=[0.85, 0.10, 0.05]),
            "start": start,
            "end": end,
            "activity": np.where(one_off, 1.0, rng.uniform(0.55, 1.0, n)),
            "late_payer": rng.random(n) < 0.08,
            "trend": rng.normal(0.0, 0.025, n),  # monthly drift of the spend
            "n_products": rng.integers(1, 5, n),
        }
    )


def _invoice_lines(spec: SampleSpec, clients: pd.DataFrame, rng) -> pd.DataFrame:
    n, m = len(clients), spec.months
    month_idx = np.arange(m)
    in_life = (month_idx[None, :] >= clients["start"].to_numpy()[:, None]) & (
        month_idx[None, :] <= clients["end"].to_numpy()[:, None]
    )
    active = in_life & (rng.random((n, m)) < clients["activity"].to_numpy()[:, None])
    # A one-off buyer buys exactly once.
    client_idx, month_of = np.nonzero(active)
    # About 100 lines per client over 36 months: 100,000 clients give ~10M lines.
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
    fx = np.where(currency == "USD", FX_BASE["USD"], np.where(currency == "EUR", FX_BASE["EUR"], 1))
    amount = (
        scale * trend / 12 / lines_per_month.repeat(lines_per_month) * rng.lognormal(0, 0.35, k)
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
    unpaid = rng.random(k) < np.where(late, 0.08, 0.002)
    cancelled = (rng.random(k) < 0.02) & ~credit_note
    is_paid = (paid_date <= end) & ~unpaid & ~cancelled
    status = np.where(
        cancelled,
        "cancelled",
        np.where(is_paid, "paid", np.where(due_date < end, "overdue", "issued")),
    )
    n_products = clients["n_products"].to_numpy()[line_client]
    product_pick = clients["idx"].to_numpy()[line_client] * 7 + rng.integers(0, 4, k) % n_products
    product_code = np.array([p[0] for p in PRODUCTS])[product_pick % len(PRODUCTS)]
    return pd.DataFrame(
        {
            "invoice_no": invoice_seq + 100000,
            "line_no": line_no,
            "client": line_client,
            "invoice_date": invoice_date,
            "amount": amount,
            "currency": currency,
            "product_code": product_code,
            "status": status,
            "due_date": due_date,
            "paid_date": np.where(is_paid, paid_date, np.datetime64("NaT")),
        }
    )


def _fx_rates(spec: SampleSpec, rng) -> pd.DataFrame:
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


def _crm(spec: SampleSpec, clients: pd.DataFrame, rng) -> dict[str, pd.DataFrame]:
    n = len(clients)
    end = pd.Timestamp(spec.end_date)
    words = rng.choice(NAME_WORDS, (n, 2))
    forms = np.where(clients["industry"] == "government", "ГБУ", rng.choice(LEGAL_FORMS[:4], n))
    # 10% prospects in the CRM that never bought; 0.3% of billed clients missing from the CRM.
    prospects = max(1, n // 10)
    accounts = pd.DataFrame(
        {
            "account_id": list(clients["account_id"])
            + [f"P{i:07d}" for i in range(1, prospects + 1)],
            "name": [
                f"{f} «{a}-{b}» {i}"
                for i, (f, a, b) in enumerate(
                    zip(
                        np.r_[forms, rng.choice(LEGAL_FORMS[:2], prospects)],
                        np.r_[words[:, 0], rng.choice(NAME_WORDS, prospects)],
                        np.r_[words[:, 1], rng.choice(NAME_WORDS, prospects)],
                        strict=True,
                    ),
                    start=1,
                )
            ],
            "inn": [f"77{rng.integers(10**7, 10**8)}" for _ in range(n + prospects)],
            "industry": np.r_[clients["industry"], rng.choice(INDUSTRIES, prospects)],
            "employees": np.r_[clients["employees"], rng.integers(1, 500, prospects)],
            "annual_revenue": np.r_[clients["annual_revenue"], np.full(prospects, np.nan)],
            "region": np.r_[clients["region"], rng.choice(REGIONS, prospects)],
        }
    )
    accounts["city"] = accounts["region"]
    accounts["is_government"] = accounts["industry"].eq("government")
    total = len(accounts)
    parent = np.where(
        rng.random(total) < 0.05, accounts["account_id"].to_numpy()[rng.integers(0, n, total)], ""
    )
    accounts["parent_account_id"] = np.where(parent == accounts["account_id"], "", parent)
    accounts["owner"] = [f"manager_{i:02d}" for i in rng.integers(1, 40, total)]
    accounts["potential"] = rng.choice(
        ["high", "medium", "low", "none", ""], total, p=[0.08, 0.2, 0.25, 0.07, 0.4]
    )
    accounts["created_at"] = (end - pd.to_timedelta(rng.integers(30, 3000, total), unit="D")).date
    missing_from_crm = rng.random(total) < 0.003
    missing_from_crm[n:] = False
    accounts = accounts[~missing_from_crm].reset_index(drop=True)
    accounts["employees"] = accounts["employees"].astype("Int64")
    accounts["annual_revenue"] = accounts["annual_revenue"].astype("Int64")

    ids = accounts["account_id"].to_numpy()
    n_contacts = rng.integers(1, 5, len(ids))
    contact_account = np.repeat(ids, n_contacts)
    c = len(contact_account)
    title_idx = rng.integers(0, len(TITLES), c)
    contacts = pd.DataFrame(
        {
            "contact_id": [f"K{i:08d}" for i in range(1, c + 1)],
            "account_id": contact_account,
            "full_name": [f"Contact {i}" for i in range(1, c + 1)],
            "title": [TITLES[i][0] for i in title_idx],
            "role": [TITLES[i][1] for i in title_idx],
            "email": [f"contact{i}@example.com" for i in range(1, c + 1)],
            "phone": [f"+7900{i:07d}" for i in range(1, c + 1)],
            "is_active": rng.random(c) < 0.9,
        }
    )

    n_deals = rng.poisson(1.2, len(ids))
    deal_account = np.repeat(ids, n_deals)
    d = len(deal_account)
    is_closed = rng.random(d) < 0.55
    is_won = is_closed & (rng.random(d) < 0.5)
    created = end - pd.to_timedelta(rng.integers(1, 720, d), unit="D")
    stage = np.where(is_won, "won", np.where(is_closed, "lost", rng.choice(STAGES, d)))
    probability = np.where(
        is_closed, np.nan, np.where(rng.random(d) < 0.5, rng.integers(1, 10, d) / 10, np.nan)
    )
    scale_by_id = dict(zip(clients["account_id"], clients["scale"], strict=True))
    deal_scale = np.array([scale_by_id.get(a, 2e5) for a in deal_account])
    deals = pd.DataFrame(
        {
            "deal_id": [f"D{i:08d}" for i in range(1, d + 1)],
            "account_id": deal_account,
            "stage": stage,
            "amount": np.round(deal_scale * rng.uniform(0.05, 0.6, d), 2),
            "currency": "RUB",
            "product_code": rng.choice([p[0] for p in PRODUCTS], d),
            "probability": probability,
            "created_at": created.date,
            "expected_close_date": (
                created + pd.to_timedelta(rng.integers(30, 200, d), unit="D")
            ).date,
            "closed_at": np.where(
                is_closed,
                (created + pd.to_timedelta(rng.integers(10, 180, d), unit="D")).date,
                None,
            ),
            "is_won": is_won,
            "is_closed": is_closed,
        }
    )
    deals.loc[deals["closed_at"].notna(), "closed_at"] = (
        deals["closed_at"].dropna().map(lambda x: min(x, spec.end_date))
    )

    n_leads = max(1, n // 5)
    leads = pd.DataFrame(
        {
            "lead_id": [f"L{i:07d}" for i in range(1, n_leads + 1)],
            "company_name": [
                f"ООО «{w}» {i}" for i, w in enumerate(rng.choice(NAME_WORDS, n_leads), start=1)
            ],
            "inn": [f"50{rng.integers(10**7, 10**8)}" for _ in range(n_leads)],
            # About 8% of prospects come from industries outside the target profile.
            "industry": np.where(
                rng.random(n_leads) < 0.08,
                rng.choice(["agriculture", "mining", "non-profit"], n_leads),
                rng.choice(INDUSTRIES, n_leads, p=INDUSTRY_WEIGHTS),
            ),
            # From sole traders (1-4 people, outside the profile) to enterprises.
            "employees": np.clip(rng.lognormal(np.log(60), 1.5, n_leads), 1, 20000).astype(int),
            "annual_revenue": np.round(rng.lognormal(np.log(2e8), 1.5, n_leads), -3).astype(int),
            "region": rng.choice(REGIONS, n_leads, p=REGION_WEIGHTS),
            "source": rng.choice(LEAD_SOURCES, n_leads),
            "budget": np.where(
                rng.random(n_leads) < 0.6,
                np.round(rng.lognormal(np.log(3e5), 1.0, n_leads), 2),
                np.nan,
            ),
            "currency": "RUB",
            "need": rng.choice(["confirmed", "interested", "researching", "unknown"], n_leads),
            "decision_date": (
                end + pd.to_timedelta(rng.integers(-30, 400, n_leads), unit="D")
            ).date,
            "contact_role": "",
            "contact_title": [TITLES[i][0] for i in rng.integers(0, len(TITLES), n_leads)],
            "product_code": rng.choice([p[0] for p in PRODUCTS], n_leads),
            "created_at": (end - pd.to_timedelta(rng.integers(1, 200, n_leads), unit="D")).date,
        }
    )
    for col in ("bant_budget", "bant_authority", "bant_need", "bant_time"):
        leads[col] = np.where(rng.random(n_leads) < 0.05, rng.integers(1, 6, n_leads), np.nan)
        leads[col] = leads[col].astype("Int64")

    n_act = rng.poisson(4, len(ids))
    act_account = np.repeat(ids, n_act)
    a = len(act_account)
    activities = pd.DataFrame(
        {
            "activity_id": [f"A{i:08d}" for i in range(1, a + 1)],
            "account_id": act_account,
            "occurred_at": (
                end
                - pd.to_timedelta(rng.integers(0, 365, a), unit="D")
                + pd.to_timedelta(rng.integers(8 * 60, 19 * 60, a), unit="min")
            ),
            "type": rng.choice(["call", "meeting", "email"], a),
            "contact_id": "",
        }
    )

    fb_mask = rng.random(len(ids)) < 0.3
    f = int(fb_mask.sum())
    feedback = pd.DataFrame(
        {
            "account_id": ids[fb_mask],
            "answered_at": (end - pd.to_timedelta(rng.integers(0, 365, f), unit="D")).date,
            "nps": rng.integers(0, 11, f),
            "csat": rng.integers(1, 6, f),
            "is_complaint": rng.random(f) < 0.07,
        }
    )

    ct_mask = rng.random(n) < 0.5
    ct_ids = clients["account_id"].to_numpy()[ct_mask]
    k = len(ct_ids)
    start = end - pd.to_timedelta(rng.integers(30, 1000, k), unit="D")
    contracts = pd.DataFrame(
        {
            "contract_id": [f"K-{i:07d}" for i in range(1, k + 1)],
            "account_id": ct_ids,
            "start_date": start.date,
            "end_date": (start + pd.to_timedelta(rng.choice([365, 730, 1095], k), unit="D")).date,
            "product_code": rng.choice([p[0] for p in PRODUCTS], k),
            "monthly_fee": np.round(clients["scale"].to_numpy()[ct_mask] / 12 * 0.5, 2),
            "auto_renew": rng.random(k) < 0.6,
        }
    )
    return {
        "accounts": accounts,
        "contacts": contacts,
        "deals": deals,
        "leads": leads,
        "activities": activities,
        "feedback": feedback,
        "contracts": contracts,
    }


def _deal_stage_history(spec: SampleSpec, deals: pd.DataFrame) -> pd.DataFrame:
    """One row per time a deal entered a stage, consistent with deals.csv.

    Drawn from a generator of its own, so that adding this file left every other file
    byte-identical to what the same seed gave before it existed."""
    rng = np.random.default_rng([spec.seed, 0x5747])  # "SH": stage history
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
    def day(values) -> np.ndarray:
        return pd.to_datetime(values).to_numpy().astype("datetime64[D]").astype(np.int64)

    last_day = np.datetime64(spec.end_date, "D").astype(np.int64)
    t0 = day(deals["created_at"]) * WORK_SECONDS + rng.integers(0, WORK_SECONDS, d)
    t1 = np.where(
        closed,
        day(deals["closed_at"].where(closed, spec.end_date)) * WORK_SECONDS
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


def generate(out_dir: Path, spec: SampleSpec = SampleSpec()) -> dict[str, int]:
    """Write every export file of the generic contract into out_dir; returns rows per file."""
    rng = np.random.default_rng(spec.seed)
    out_dir.mkdir(parents=True, exist_ok=True)
    clients = _clients(spec, rng)
    lines = _invoice_lines(spec, clients, rng)
    frames = _crm(spec, clients, rng)
    frames["fx_rates"] = _fx_rates(spec, rng)
    frames["products"] = pd.DataFrame(
        PRODUCTS, columns=["product_code", "name", "family", "is_standard"]
    )
    frames["deal_stage_history"] = _deal_stage_history(spec, frames["deals"])
    counts: dict[str, int] = {}
    con = duckdb.connect()
    try:
        for name, frame in frames.items():
            counts[name] = _write_csv(con, frame, out_dir / f"{name}.csv")
        if spec.defects:
            path = out_dir / "deal_stage_history.csv"
            counts["deal_stage_history"] += _append_history_defects(path, frames[path.stem])
        con.register("lines", lines)
        con.register("client_ids", clients[["idx", "account_id"]])
        invoice_sql = """
            select 'INV-' || l.invoice_no::varchar as invoice_id,
                   l.line_no,
                   c.account_id,
                   strftime(l.invoice_date, '%Y-%m-%d') as invoice_date,
                   printf('%.2f', l.amount) as amount,
                   l.currency,
                   l.product_code,
                   l.status,
                   strftime(l.due_date, '%Y-%m-%d') as due_date,
                   strftime(l.paid_date, '%Y-%m-%d') as paid_date
            from lines as l
            join client_ids as c on c.idx = l.client
            order by l.invoice_no, l.line_no
        """
        path = out_dir / "invoice_lines.csv"
        con.execute(f"copy ({invoice_sql}) to '{path}' (header, delimiter ',')")
        counts["invoice_lines"] = len(lines)
        if spec.defects:
            counts["invoice_lines"] += _append_defects(path)
    finally:
        con.close()
    return counts


def _write_csv(con, frame: pd.DataFrame, path: Path) -> int:
    # Empty strings are written as empty fields (NULL), as CRM exports do.
    frame = frame.replace("", None)
    con.register("frame", frame)
    con.execute(f"copy (select * from frame) to '{path}' (header, delimiter ',')")
    con.unregister("frame")
    return len(frame)


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


def _append_history_defects(path: Path, history: pd.DataFrame) -> int:
    """Rows a CRM history export carries now and then; each must end up in the rejects."""
    won = history[history["stage"] == "won"].iloc[0]
    changed_at = won["changed_at"].strftime("%Y-%m-%d %H:%M:%S")
    defects = [
        f"{won['deal_id']},Closed Won,{changed_at}",  # another system's stage name
        f"{won['deal_id']},negotiation,2026-02-30 11:15:00",  # no such date
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
