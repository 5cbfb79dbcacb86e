"""A night fed only tonight's new and changed invoice lines (a delta export, which the
billing contract allows: lines are merged by key), whose dbt build is incremental,
publishes what the same night publishes from all lines built in full (docs/scale.md).
Over three nights: the first from a full export; then one new day each night, with a
late line for an old date and an issued line that got paid on the second, and an old
line cancelled on the third. The other chain is given the whole file every night and
SEGMENTS_FULL_REFRESH."""

import dataclasses
import datetime as dt
import json
import shutil

import duckdb
import pandas as pd
import pytest
from support import env_for, run_nightly

from pipelines.settings import DBT_PROJECT_DIR

NIGHTS = [dt.date(2026, 10, 29), dt.date(2026, 10, 30), dt.date(2026, 10, 31)]
KEY = ["invoice_id", "line_no"]


def _run(root, exports, as_of, **variables) -> None:
    env = dataclasses.replace(env_for(root, **variables), exports_dir=exports)
    result = run_nightly(env, as_of=as_of)
    assert result.success, [e.message for e in result.all_events if e.is_failure]


def _published(root) -> dict[str, object]:
    with duckdb.connect(str(root / "publish" / "segments.duckdb"), read_only=True) as con:
        manifest = con.sql("select table_name, content_hash from release_manifest").fetchall()
        monthly = con.sql("select distinct account_id from client_revenue_monthly")
        monthly_clients = {row[0] for row in monthly.fetchall()}
    with duckdb.connect(str(root / "data" / "warehouse.duckdb"), read_only=True) as con:
        stored = con.sql("select count(*) from raw.invoice_lines").fetchall()[0][0]
        touched, clients = con.sql(
            """select (select count(*) from intermediate.int_clients_touched_tonight),
                      (select count(*) from intermediate.int_client_revenue_windows)"""
        ).fetchall()[0]
    return {
        "hashes": dict(manifest),
        "stored_lines": stored,
        "touched": touched,
        "clients": clients,
        "monthly_clients": monthly_clients,
    }


def _changes(lines: pd.DataFrame, night: int) -> pd.DataFrame:
    """Tonight's changed lines: night 1 (the second night) a late line for an old date
    and an issued line paid; night 2 an old paid line cancelled."""
    old = lines[lines["invoice_date"] <= "2026-06-30"]
    if night == 1:
        late = old.iloc[[0]].assign(invoice_id="INV-LATE-1", line_no="1", amount="1234.56",
                                    status="issued", paid_date="")  # fmt: skip
        issued = lines[(lines["status"] == "issued") & (lines["invoice_date"] <= "2026-10-29")]
        paid = issued.iloc[[0]].assign(status="paid", paid_date=str(NIGHTS[1]))
        return pd.concat([late, paid])
    return old[old["status"] == "paid"].iloc[[3]].assign(status="cancelled")


# A client whose one line is dated 24 months before the second night's as_of: in the
# base on the first night, out of it on the second (no line of theirs changes).
LEAVING_CLIENT_LINE_DATE = "2024-10-30"


def _leaving_the_base(lines: pd.DataFrame) -> pd.DataFrame:
    client = lines["account_id"].iloc[0]
    theirs = lines[lines["account_id"] == client]
    last = theirs.iloc[[0]].assign(invoice_date=LEAVING_CLIENT_LINE_DATE, status="paid",
                                   due_date="2024-11-29", paid_date="2024-11-10")  # fmt: skip
    return pd.concat([lines[lines["account_id"] != client], last])


@pytest.fixture(scope="module")
def chains(tmp_path_factory):
    from sample_data.generate import SampleSpec, generate

    root = tmp_path_factory.mktemp("incremental-nights")
    sample = root / "sample"
    generate(sample, SampleSpec(clients=150, end_date=NIGHTS[-1], seed=23, defects=False))
    generated = _leaving_the_base(
        pd.read_csv(sample / "invoice_lines.csv", dtype=str, keep_default_na=False)
    )

    def exports(name: str, lines: pd.DataFrame):
        folder = root / name
        shutil.copytree(sample, folder)
        lines.to_csv(folder / "invoice_lines.csv", index=False)
        return folder

    delta_root, full_root = root / "delta", root / "full"
    everything = generated[generated["invoice_date"] <= str(NIGHTS[0])]
    _run(delta_root, exports("night-0", everything), NIGHTS[0])
    shutil.copytree(delta_root, full_root)  # the same first night for both chains
    first_night_monthly_clients = _published(delta_root)["monthly_clients"]
    published, changed = [], []
    for night in (1, 2):
        day = str(NIGHTS[night])
        changes = _changes(everything, night)
        changed.append(changes)
        delta = pd.concat([generated[generated["invoice_date"] == day], changes])
        everything = pd.concat([everything, delta]).drop_duplicates(KEY, keep="last")
        _run(delta_root, exports(f"night-{night}-delta", delta), NIGHTS[night])
        _run(
            full_root,
            exports(f"night-{night}-full", everything),
            NIGHTS[night],
            SEGMENTS_FULL_REFRESH="1",
        )
        published.append((_published(delta_root), _published(full_root), len(delta)))
    return {
        "published": published,
        "changed": pd.concat(changed),
        "first_night_monthly_clients": first_night_monthly_clients,
        "leaving_client": generated["account_id"].iloc[-1],
        "warehouse": delta_root / "data" / "warehouse.duckdb",
    }


@pytest.mark.parametrize("night", [0, 1], ids=["second-night", "third-night"])
def test_a_delta_night_publishes_what_the_night_from_all_lines_publishes(chains, night):
    from_delta, from_all, delta_lines = chains["published"][night]
    assert 0 < delta_lines < 100  # a day's lines and the changes, not a re-export
    assert from_delta["stored_lines"] == from_all["stored_lines"]
    # The delta night rebuilt some clients, not all; the other night built in full.
    assert 0 < from_delta["touched"] < from_delta["clients"]
    assert from_all["touched"] == 0
    # load_report says what each night's file held (its rows read differ by design);
    # every other published table is the same.
    hashes_delta, hashes_all = dict(from_delta["hashes"]), dict(from_all["hashes"])
    assert hashes_delta.pop("load_report") != hashes_all.pop("load_report")
    assert len(hashes_delta) >= 12
    assert hashes_delta == hashes_all


def test_a_client_leaving_the_base_leaves_the_monthly_mart_of_the_delta_night(chains):
    """No line of theirs changed: only the client base's moving start passed over their
    line (int_clients_touched_tonight.months_touched). Both chains agree (above); this
    checks the scenario happened, in the mart on the first night, gone on the second."""
    client = chains["leaving_client"]
    assert client in chains["first_night_monthly_clients"]
    from_delta, from_all, _ = chains["published"][0]
    assert client not in from_delta["monthly_clients"] | from_all["monthly_clients"]


def test_the_changed_lines_reached_the_warehouse(chains):
    """Without this the comparison would also pass if both chains lost the changes."""
    changed = chains["changed"]
    assert set(changed["status"]) == {"issued", "paid", "cancelled"}
    with duckdb.connect(str(chains["warehouse"]), read_only=True) as con:
        con.register("changed", changed)
        stored = con.sql(
            """select c.invoice_id, r.status from changed c join raw.invoice_lines r
               on r.invoice_id = c.invoice_id and r.line_no = c.line_no::bigint
               where r.status = c.status"""
        ).fetchall()
    assert len(stored) == len(changed) == 3


def _failing_rows(warehouse, target, model: str, **night_vars: str) -> int:
    """`dbt test` of one model's unique_combination test on `warehouse`: its failing rows."""
    from dbt.cli.main import dbtRunner

    project = str(DBT_PROJECT_DIR)
    dbt_vars = {"warehouse_path": str(warehouse), "temp_directory": str(target / "spill")}
    result = dbtRunner().invoke(
        ["test", "--quiet", "--project-dir", project, "--profiles-dir", project,
         "--target-path", str(target), "--vars", json.dumps({**dbt_vars, **night_vars}),
         "--select", f"{model},test_name:unique_combination"]
    )  # fmt: skip
    assert result.result is not None, result.exception
    (test,) = [r for r in result.result.results if r.node.resource_type == "test"]
    return test.failures


def test_an_incremental_night_tests_the_keys_of_the_lines_it_rebuilt(chains, tmp_path):
    """The line-level tests of an incremental night (tests/generic, macro rebuilt_tonight)
    cover the lines it converted again, a changed line whatever its date; the previous
    build tested the others. A duplicate of each kind is planted after the third night."""
    warehouse = tmp_path / "warehouse.duckdb"
    shutil.copy(chains["warehouse"], warehouse)
    model = "int_invoice_lines_converted"
    with duckdb.connect(str(warehouse)) as con:
        lines = f"intermediate.{model}"
        tonight = f"from {lines} where invoice_date = '{NIGHTS[2]}' limit 1"
        old = f"from {lines} where invoice_date < '2026-06-01' order by all limit 2"
        con.sql(f"insert into {lines} from ({tonight}) union all from ({old})")
        changed = old.replace("limit 2", "limit 1")
        # The successful night consumed its change log: plant one old line's change again.
        con.sql(
            f"""insert into raw.invoice_lines_changes by name
                select 'new' as change, 'planted' as run_id, invoice_id, line_no, account_id,
                       invoice_date, due_date, paid_date from ({changed})"""
        )
    incremental = {"as_of": str(NIGHTS[2]), "previous_as_of": str(NIGHTS[1])}
    # Tonight's line and the changed one; the other old line was the previous build's.
    assert _failing_rows(warehouse, tmp_path / "target", model, **incremental) == 2
    # A full build's tests cover every line.
    assert _failing_rows(warehouse, tmp_path / "target", model, as_of=str(NIGHTS[2])) == 3
