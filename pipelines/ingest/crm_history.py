"""Night-by-night history the nightly run keeps in the warehouse (schema `history`).

Choice: one row per entity per night, keyed by as_of, rather than changes-only SCD2.
Re-running a night deletes and rewrites exactly that night (never a duplicate), a
backfill of an older night slots in without rewriting validity ranges, and "the
previous night" is the greatest earlier as_of. At 100,000 accounts a night adds
100,000 narrow rows, which DuckDB compresses to a few MB.

- `crm_accounts` / `crm_contacts` / `crm_deals`: tonight's CRM snapshot, written after
  ingest (retention's ownership_change compares parent accounts with the previous night;
  without a deal_stage_history export, the stages a deal was seen in night after night
  are its path through the sales funnel). Contacts keep roles and activity, not names,
  emails or phones.
- `client_segments`: written by publication for every published night (segment
  transitions compare with the previous published night).
"""

import datetime as dt

import duckdb
from dagster import AssetExecutionContext, AssetKey, AssetSpec, MaterializeResult, multi_asset

from pipelines.catalog import lineage_metadata, table_metadata
from pipelines.db import fetch_one
from pipelines.resources import NightSettings, PipelineSettings, Warehouse
from pipelines.settings import OWNER

SCHEMA = "history"
CRM_ACCOUNTS = AssetKey([SCHEMA, "crm_accounts"])
CRM_CONTACTS = AssetKey([SCHEMA, "crm_contacts"])
CRM_DEALS = AssetKey([SCHEMA, "crm_deals"])
SEGMENT_HISTORY_TABLE = f"{SCHEMA}.client_segments"

ACCOUNT_COLUMNS = """account_id varchar, account_name varchar, parent_account_id varchar,
    owner varchar, industry varchar, region varchar, employees bigint, potential varchar"""
CONTACT_COLUMNS = "contact_id varchar, account_id varchar, role varchar, is_active boolean"
DEAL_COLUMNS = "deal_id varchar, account_id varchar, stage varchar"


def ensure_history_tables(con: duckdb.DuckDBPyConnection) -> None:
    con.execute(f"create schema if not exists {SCHEMA}")
    con.execute(f"create table if not exists {SCHEMA}.crm_accounts (as_of date, {ACCOUNT_COLUMNS})")
    con.execute(f"create table if not exists {SCHEMA}.crm_contacts (as_of date, {CONTACT_COLUMNS})")
    con.execute(f"create table if not exists {SCHEMA}.crm_deals (as_of date, {DEAL_COLUMNS})")
    con.execute(
        f"""create table if not exists {SEGMENT_HISTORY_TABLE} (
            as_of date, account_id varchar, segment varchar, revenue_t12m decimal(18, 2),
            risk_level varchar, run_id varchar, config_version varchar)"""
    )


def record_crm_snapshot(con: duckdb.DuckDBPyConnection, as_of: dt.date) -> tuple[int, int, int]:
    """Replace the night `as_of` in the CRM history with the raw snapshot; returns the
    number of accounts, contacts and deals recorded."""
    ensure_history_tables(con)
    con.begin()
    try:
        con.execute(f"delete from {SCHEMA}.crm_accounts where as_of = ?", [as_of])
        con.execute(
            f"""insert into {SCHEMA}.crm_accounts
                select ?, account_id, name, parent_account_id, owner, industry, region,
                       employees, potential
                from raw.accounts""",
            [as_of],
        )
        con.execute(f"delete from {SCHEMA}.crm_contacts where as_of = ?", [as_of])
        con.execute(
            f"""insert into {SCHEMA}.crm_contacts
                select ?, contact_id, account_id, role, coalesce(is_active, true)
                from raw.contacts""",
            [as_of],
        )
        con.execute(f"delete from {SCHEMA}.crm_deals where as_of = ?", [as_of])
        con.execute(
            f"""insert into {SCHEMA}.crm_deals
                select ?, deal_id, account_id, stage from raw.deals""",
            [as_of],
        )
        con.commit()
    except BaseException:
        con.rollback()
        raise
    accounts = fetch_one(
        con, f"select count(*) from {SCHEMA}.crm_accounts where as_of = ?", [as_of]
    )[0]
    contacts = fetch_one(
        con, f"select count(*) from {SCHEMA}.crm_contacts where as_of = ?", [as_of]
    )[0]
    deals = fetch_one(con, f"select count(*) from {SCHEMA}.crm_deals where as_of = ?", [as_of])[0]
    return accounts, contacts, deals


@multi_asset(
    specs=[
        AssetSpec(
            CRM_ACCOUNTS,
            metadata=table_metadata(CRM_ACCOUNTS),
            # invoice_lines: the night (as_of) defaults to its latest invoice date.
            deps=[AssetKey(["raw", "accounts"]), AssetKey(["raw", "invoice_lines"])],
            group_name=SCHEMA,
            owners=[OWNER],
            kinds={"duckdb"},
            description=(
                "Every night's CRM accounts (one row per as_of and account: parent account, "
                "owner, industry, region, employees, potential). Re-running a night "
                "replaces it. ownership_change compares with the previous night."
            ),
        ),
        AssetSpec(
            CRM_CONTACTS,
            metadata=table_metadata(CRM_CONTACTS),
            deps=[AssetKey(["raw", "contacts"]), AssetKey(["raw", "invoice_lines"])],
            group_name=SCHEMA,
            owners=[OWNER],
            kinds={"duckdb"},
            description=(
                "Every night's CRM contacts (one row per as_of and contact: account, role, "
                "is_active; no names, emails or phones). Re-running a night replaces it."
            ),
        ),
        AssetSpec(
            CRM_DEALS,
            metadata=table_metadata(CRM_DEALS),
            deps=[AssetKey(["raw", "deals"]), AssetKey(["raw", "invoice_lines"])],
            group_name=SCHEMA,
            owners=[OWNER],
            kinds={"duckdb"},
            description=(
                "Every night's CRM deals (one row per as_of and deal: account and stage). "
                "Without a deal_stage_history export, the stages a deal was seen in night "
                "after night are its path through the sales funnel (docs/funnel.md). "
                "Re-running a night replaces it."
            ),
        ),
    ],
)
def crm_history(
    context: AssetExecutionContext,
    settings: PipelineSettings,
    night: NightSettings,
    warehouse: Warehouse,
):
    with warehouse.connect() as con:
        as_of = night.resolve_as_of(con, settings.rules())
        accounts, contacts, deals = record_crm_snapshot(con, as_of)
        nights = fetch_one(con, f"select count(distinct as_of) from {SCHEMA}.crm_accounts")[0]
    context.log.info(
        f"CRM snapshot for {as_of}: {accounts} accounts, {contacts} contacts, {deals} deals "
        f"({nights} night(s) kept)"
    )
    yield MaterializeResult(
        asset_key=CRM_ACCOUNTS,
        metadata={
            **lineage_metadata(CRM_ACCOUNTS, warehouse.path),
            "as_of": str(as_of),
            "dagster/row_count": accounts,
            "nights_kept": nights,
        },
    )
    yield MaterializeResult(
        asset_key=CRM_CONTACTS,
        metadata={
            **lineage_metadata(CRM_CONTACTS, warehouse.path),
            "as_of": str(as_of),
            "dagster/row_count": contacts,
            "nights_kept": nights,
        },
    )
    yield MaterializeResult(
        asset_key=CRM_DEALS,
        metadata={
            **lineage_metadata(CRM_DEALS, warehouse.path),
            "as_of": str(as_of),
            "dagster/row_count": deals,
            "nights_kept": nights,
        },
    )
