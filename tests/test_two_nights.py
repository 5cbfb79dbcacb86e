"""Two consecutive nights end to end (docs/retention.md, docs/publication.md): between
them one client is taken over by another group, one VIP's revenue of the last year is
cancelled, three open deals close, and the second night is re-run. The flags, the segment
transitions, the funnel's paths (from the nightly history of deals: no stage-history
export here) and the history must show it."""

import dataclasses
import datetime as dt
import shutil

import duckdb
import pandas as pd
import pytest
from support import env_for, run_nightly

NIGHT_1 = dt.date(2026, 9, 30)
NIGHT_2 = dt.date(2026, 10, 31)
NEW_PARENT = "C-NEW-GROUP"


def run_night(root, exports, as_of):
    result = run_nightly(dataclasses.replace(env_for(root), exports_dir=exports), as_of=as_of)
    assert result.success, [e.message for e in result.all_events if e.is_failure]
    return result


def read(path, sql) -> pd.DataFrame:
    with duckdb.connect(str(path), read_only=True) as con:
        return con.sql(sql).df()


@pytest.fixture(scope="module")
def nights(tmp_path_factory):
    from sample_data.generate import SampleSpec, generate

    root = tmp_path_factory.mktemp("two-nights")
    first, second = root / "exports-1", root / "exports-2"
    generate(first, SampleSpec(clients=300, end_date=NIGHT_2, seed=11))
    (first / "deal_stage_history.csv").unlink()
    run_night(root, first, NIGHT_1)
    published = root / "publish" / "segments.duckdb"
    night_1 = read(published, "select * from client_segments")

    # Between the nights: a takeover in the CRM and a VIP's last year cancelled in billing.
    shutil.copytree(first, second)
    taken_over = night_1[night_1["segment"] == "typical"]["account_id"].iat[0]
    dropped_vip = night_1[night_1["segment"] == "vip"]["account_id"].iat[0]
    accounts = pd.read_csv(second / "accounts.csv", dtype=str, keep_default_na=False)
    accounts.loc[accounts["account_id"] == taken_over, "parent_account_id"] = NEW_PARENT
    accounts.to_csv(second / "accounts.csv", index=False)
    lines = pd.read_csv(second / "invoice_lines.csv", dtype=str, keep_default_na=False)
    cancel = (lines["account_id"] == dropped_vip) & (lines["invoice_date"] > "2025-10-31")
    lines.loc[cancel, "status"] = "cancelled"
    lines.to_csv(second / "invoice_lines.csv", index=False)
    deals = pd.read_csv(second / "deals.csv", dtype=str, keep_default_na=False)
    closing = {}  # deal_id -> (its stage on night 1, its outcome on night 2)
    for stage, outcome in (
        ("presentation", "won"),
        ("negotiation", "lost"),
        ("first_contact", "lost"),
    ):
        deal = deals.loc[deals["stage"] == stage, "deal_id"].iat[0]
        closing[deal] = (stage, outcome)
        row = deals["deal_id"] == deal
        deals.loc[row, ["stage", "is_closed", "is_won", "closed_at"]] = [
            outcome,
            "true",
            str(outcome == "won").lower(),
            "2026-10-15",
        ]
    deals.to_csv(second / "deals.csv", index=False)

    run_night(root, second, NIGHT_2)
    rerun = run_night(root, second, NIGHT_2)  # the same night again: replaces, never adds
    return {
        "root": root,
        "published": published,
        "warehouse": root / "data" / "warehouse.duckdb",
        "night_1": night_1,
        "taken_over": taken_over,
        "closing": closing,
        "dropped_vip": dropped_vip,
        "rerun": rerun,
    }


def test_the_first_night_had_no_ownership_change_to_compare(nights):
    history = read(nights["published"], "select as_of from segment_history")
    assert set(history["as_of"].dt.date) == {NIGHT_1, NIGHT_2}
    assert not nights["night_1"]["risk_flags"].str.contains("ownership_change").any()


def test_the_takeover_fires_ownership_change_with_both_parents(nights):
    risks = read(
        nights["published"],
        "select * from retention_risks where flag = 'ownership_change'",
    )
    assert list(risks["account_id"]) == [nights["taken_over"]]
    evidence = risks["evidence"].iat[0]
    assert f"to {NEW_PARENT}" in evidence and "2026-09-30" in evidence
    assert risks["severity"].iat[0] == "high"


def test_the_dropped_vip_is_flagged_and_moves_out_of_vip(nights):
    vip = nights["dropped_vip"]
    segments = read(
        nights["published"], f"select * from client_segments where account_id = '{vip}'"
    )
    assert segments["segment"].iat[0] != "vip"
    assert float(segments["revenue_t12m"].iat[0]) == 0.0
    assert "revenue_decline" in segments["risk_flags"].iat[0].split(", ")
    decline = read(
        nights["published"],
        f"select evidence from retention_risks where account_id = '{vip}' "
        "and flag = 'revenue_decline'",
    )["evidence"].iat[0]
    assert "growth -100.0%" in decline


def test_transitions_count_every_client_of_either_night_once(nights):
    transitions = read(nights["published"], "select * from segment_transitions")
    assert set(transitions["previous_as_of"].dt.date) == {NIGHT_1}
    assert set(transitions["as_of"].dt.date) == {NIGHT_2}
    night_2 = read(nights["published"], "select account_id, segment from client_segments")
    both = set(nights["night_1"]["account_id"]) | set(night_2["account_id"])
    assert transitions["clients"].sum() == len(both)
    new_segment = night_2.set_index("account_id").loc[nights["dropped_vip"], "segment"]
    moved = transitions[
        (transitions["from_segment"] == "vip") & (transitions["to_segment"] == new_segment)
    ]
    assert moved["clients"].iat[0] >= 1
    # Per from-segment, the clients add up to that night's segment counts.
    night_1_counts = nights["night_1"]["segment"].value_counts()
    from_counts = (
        transitions[transitions["from_segment"] != "none"].groupby("from_segment")["clients"].sum()
    )
    assert from_counts.sort_index().to_dict() == night_1_counts.sort_index().to_dict()


def test_rerunning_a_night_replaces_it_in_every_history(nights):
    for table in ("history.client_segments", "history.crm_accounts"):
        counts = read(
            nights["warehouse"],
            f"select as_of, count(*) as n, count(distinct account_id) as d from {table} "
            "group by as_of order by as_of",
        )
        assert list(counts["as_of"].dt.date) == [NIGHT_1, NIGHT_2], table
        assert (counts["n"] == counts["d"]).all(), table
    published = read(
        nights["published"],
        "select as_of, count(*) as n from segment_history group by as_of order by as_of",
    )
    night_2 = read(nights["published"], "select count(*) as n from client_segments")
    assert published["n"].tolist() == [len(nights["night_1"]), night_2["n"].iat[0]]
    release = read(nights["published"], "select run_id from release")
    assert release["run_id"].iat[0] == nights["rerun"].run_id


def test_the_rerun_publishes_the_same_content_hashes(nights):
    from pipelines.publish.releases import list_releases, release_identity

    kept = {release_identity(p)[1]: p for p in list_releases(nights["published"].parent)}
    assert len(kept) == 3  # night 1, night 2, night 2 again
    newest = read(nights["published"], "select table_name, content_hash from release_manifest")
    first_run = [p for rid, p in kept.items() if rid != nights["rerun"].run_id]
    earlier_night_2 = [p for p in first_run if release_identity(p)[0] == str(NIGHT_2)][0]
    before = read(earlier_night_2, "select table_name, content_hash from release_manifest")
    assert dict(before.values.tolist()) == dict(newest.values.tolist())


def test_rollback_swaps_in_a_kept_release_and_names_it(nights, capsys, monkeypatch):
    """Last in this module: it changes what is published."""
    from pipelines.cli import main
    from pipelines.publish.releases import list_releases, release_identity, rollback

    publish = nights["published"].parent
    chosen = rollback(publish)  # default: the newest release that is not published now
    assert release_identity(nights["published"])[1] != nights["rerun"].run_id
    assert nights["published"].read_bytes() == chosen.read_bytes()
    night_1 = [p for p in list_releases(publish) if release_identity(p)[0] == str(NIGHT_1)][0]
    run_id = release_identity(night_1)[1]
    rollback(publish, to=run_id)
    assert read(nights["published"], "select as_of from release")["as_of"].iat[0].date() == NIGHT_1
    with pytest.raises(ValueError, match="matches 0 kept releases"):
        rollback(publish, to="no-such-run")
    monkeypatch.setenv("SEGMENTS_PUBLISH_DIR", str(publish))
    assert main(["releases"]) == 0
    listing = capsys.readouterr().out
    assert f"* segments-{NIGHT_1}-{run_id}.duckdb" in listing


def test_the_nightly_history_of_deals_shows_the_path_of_the_deals_that_closed(nights):
    """Without a stage-history export, the deals seen open on the first night and closed
    on the second have a path: the stage they were in, then their outcome."""
    events = read(
        nights["warehouse"],
        "select deal_id, stage, entered_at, evidence from marts.fct_deal_stage_events",
    )
    for deal, (stage, outcome) in nights["closing"].items():
        mine = events[events["deal_id"] == deal].set_index("stage")
        assert set(mine.index) == {stage, outcome}
        assert mine.loc[stage, "evidence"] == "nightly_snapshot"
        assert mine.loc[stage, "entered_at"].date() == NIGHT_1
    # The warehouse's: a later test rolls the published file back to the first night.
    stages = read(
        nights["warehouse"],
        "select stage, deals_reached from sales.sales_funnel_stages "
        "where dimension = 'all' order by stage_order",
    )
    # presentation -> won reached every stage; negotiation -> lost reached five;
    # first_contact -> lost one. Every other closed deal was closed on both nights.
    assert list(stages["deals_reached"]) == [3, 2, 2, 2, 2, 1, 1]
