"""The blocking gates of cross_sell, sales_funnel and sales_funnel_stages (docs/cross_sell.md
and 11) pass on the shared run's tables and fail on each kind of damage, naming the
expectation, and publication then refuses. Each test works on a copy of the shared
run's warehouse and calls the gate directly."""

import logging
import shutil

import duckdb
import pytest
from dagster import DagsterInstance, Failure, build_asset_check_context

from pipelines.marts.dbt import project_marts
from pipelines.publish.release import publish_release
from pipelines.quality.gates import build_quality_gates
from pipelines.resources import PipelineSettings, Warehouse

MARTS = project_marts()
GATES = {gate.check_specs.__iter__().__next__().name: gate for gate in build_quality_gates(MARTS)}


@pytest.fixture
def warehouse(e2e_run, tmp_path) -> Warehouse:
    path = tmp_path / "warehouse.duckdb"
    shutil.copy(e2e_run["warehouse"], path)
    return Warehouse(path=str(path))


def run_gate(name: str, warehouse: Warehouse, settings: PipelineSettings | None = None):
    resources = {"warehouse": warehouse, **({"settings": settings} if settings else {})}
    with DagsterInstance.ephemeral() as instance:
        result = GATES[name](build_asset_check_context(resources=resources, instance=instance))
    return result.passed, " | ".join(result.metadata["failures"].data)


def damage(warehouse: Warehouse, *statements: str) -> None:
    with duckdb.connect(warehouse.path) as con:
        for statement in statements:
            con.execute(statement)


FIRST_CLIENT = "(select min(account_id) from sales.cross_sell)"


@pytest.mark.parametrize(
    "gate",
    ["cross_sell_quality_gate", "sales_funnel_quality_gate", "sales_funnel_stages_quality_gate"],
)
def test_the_nights_tables_pass(warehouse, gate):
    passed, failures = run_gate(gate, warehouse)
    assert passed, failures


@pytest.mark.parametrize(
    "statements, failing",
    [
        (
            # A row for a family the client already buys (ranked after its others).
            [
                """insert into sales.cross_sell
                   select c.* replace (f.product_family as product_family,
                                       c.rank_for_client + 1 as rank_for_client)
                   from sales.cross_sell as c
                   join marts.fct_client_product_families as f using (account_id)
                   where f.is_bought and c.rank_for_client = (
                       select max(rank_for_client) from sales.cross_sell as m
                       where m.account_id = c.account_id)
                   limit 1"""
            ],
            "already_buys",
        ),
        (
            [
                f"update sales.cross_sell set peer_group_clients = peer_group_clients + 1 "
                f"where account_id = {FIRST_CLIENT}"
            ],
            "peer_count_matches",
        ),
        (
            [
                f"update sales.cross_sell set rank_for_client = rank_for_client + 1 "
                f"where account_id = {FIRST_CLIENT}"
            ],
            "rank_is_contiguous",
        ),
        (
            [
                f"update sales.cross_sell set adoption_share_in_peer_group = 1.5 "
                f"where account_id = {FIRST_CLIENT}"
            ],
            "adoption_share_in_peer_group",
        ),
    ],
)
def test_cross_sell_gate_fails_on_each_kind_of_damage(warehouse, statements, failing):
    damage(warehouse, *statements)
    passed, failures = run_gate("cross_sell_quality_gate", warehouse)
    assert not passed and failing in failures, failures


@pytest.mark.parametrize(
    "statements, failing",
    [
        (
            [
                "update sales.sales_funnel set deals_won = deals_won + 1 "
                "where dimension = 'size_tier' and deals_won < deals_closed"
            ],
            "won_reconciles",
        ),
        (
            [
                "update sales.sales_funnel set deals_closed = deals_closed + 1 "
                "where dimension = 'segment'"
            ],
            "closed_reconciles",
        ),
        (
            [
                "update sales.sales_funnel set deals_won = deals_closed + 1, win_rate = 1.2 "
                "where dimension = 'all'"
            ],
            "won_within_closed",
        ),
        (["delete from sales.sales_funnel where dimension = 'sub_segment'"], "dimension"),
    ],
)
def test_sales_funnel_gate_fails_on_each_kind_of_damage(warehouse, statements, failing):
    damage(warehouse, *statements)
    passed, failures = run_gate("sales_funnel_quality_gate", warehouse)
    assert not passed and failing in failures, failures


def test_stages_gate_fails_when_a_group_reaches_a_stage_with_more_deals_than_it_closed(
    warehouse,
):
    damage(
        warehouse,
        "update sales.sales_funnel_stages set deals_reached = 1000000 "
        "where dimension = 'all' and stage = 'first_contact'",
    )
    passed, failures = run_gate("sales_funnel_stages_quality_gate", warehouse)
    assert not passed and "reached_within_closed" in failures, failures


def test_a_failed_cross_sell_audit_blocks_publication(e2e_run, warehouse, tmp_path):
    settings = PipelineSettings.from_env(e2e_run["env"])
    for gate in GATES:
        assert run_gate(gate, warehouse, settings)[0], gate
    damage(
        warehouse,
        f"update sales.cross_sell set peer_group_clients = 0 where account_id = {FIRST_CLIENT}",
    )
    assert not run_gate("cross_sell_quality_gate", warehouse)[0]
    with pytest.raises(Failure, match=r"latest audit of sales\.cross_sell failed"):
        publish_release(warehouse, tmp_path / "publish", logging.getLogger("test"), MARTS)
    assert not (tmp_path / "publish" / "segments.duckdb").exists()
