"""dbt column schemas and lineage are computed on the first night of a dbt project and
reused on the nights after, as long as the project, its sources' columns and the rules
stay the same."""

import dataclasses
import json

import pytest
from dagster import (
    AssetKey,
    AssetMaterialization,
    DagsterInstance,
    TableColumn,
    TableColumnDep,
    TableColumnLineage,
    TableSchema,
)
from dagster_dbt import DbtCliResource
from dagster_dbt.core.dbt_event_iterator import DbtEventIterator

from pipelines.definitions import nightly_job
from pipelines.marts import column_metadata
from pipelines.marts.dbt import nightly_target

SCHEMA = TableSchema(columns=[TableColumn("account_id", "VARCHAR")])
LINEAGE = TableColumnLineage(
    deps_by_column={"account_id": [TableColumnDep(AssetKey(["raw", "accounts"]), "account_id")]}
)


def _event(uid: str, **metadata) -> AssetMaterialization:
    return AssetMaterialization(
        asset_key=uid.split(".")[-1], metadata={"unique_id": uid, **metadata}
    )


def _computed(uid: str) -> AssetMaterialization:
    return _event(uid, **{"dagster/column_schema": SCHEMA, "dagster/column_lineage": LINEAGE})


@pytest.fixture
def manifest(tmp_path):
    path = tmp_path / "manifest.json"
    path.write_text('{"nodes": {}}')
    return path


SOURCES = [("raw", "accounts", "account_id", "VARCHAR")]
VARS = {"as_of": "2026-10-31", "revenue_source": "invoices"}


def test_the_fingerprint_follows_project_sources_and_rules_but_not_as_of(manifest):
    fingerprint = column_metadata.project_fingerprint(manifest, SOURCES, VARS)
    tomorrow = {**VARS, "as_of": "2026-11-01"}
    assert column_metadata.project_fingerprint(manifest, SOURCES, tomorrow) == fingerprint
    other_source = {**VARS, "revenue_source": "won_deals"}
    assert column_metadata.project_fingerprint(manifest, SOURCES, other_source) != fingerprint
    wider = [*SOURCES, ("raw", "accounts", "region", "VARCHAR")]
    assert column_metadata.project_fingerprint(manifest, wider, VARS) != fingerprint
    manifest.write_text('{"nodes": {"model.segments.x": {}}}')
    assert column_metadata.project_fingerprint(manifest, SOURCES, VARS) != fingerprint


def test_metadata_recorded_for_every_model_is_stored_and_attached_the_night_after(tmp_path):
    cache = tmp_path / "target" / column_metadata.CACHE_FILE
    models = {"model.segments.a", "model.segments.b"}
    first_night = [_computed("model.segments.a"), _computed("model.segments.b"),
                   _event("test.segments.unique_a")]  # fmt: skip
    passed = list(column_metadata.record(iter(first_night), cache, "f1", models))
    assert passed == first_night  # the events go through unchanged

    stored = column_metadata.load(cache, "f1")
    assert stored is not None and set(stored) == models
    tonight = [_event("model.segments.a"), _event("test.segments.unique_a")]
    attached = list(column_metadata.attach(iter(tonight), stored))
    assert attached[0].metadata["dagster/column_lineage"].value == LINEAGE
    assert attached[0].metadata["dagster/column_schema"].value == SCHEMA
    assert "dagster/column_schema" not in attached[1].metadata  # a test's event: untouched


def test_nothing_is_stored_when_a_model_went_without_metadata(tmp_path):
    """A failed build (a model not built) or a model whose columns could not be read:
    the next night computes again rather than reuse a partial set."""
    cache = tmp_path / column_metadata.CACHE_FILE
    events = [_computed("model.segments.a"), _event("model.segments.b")]
    list(
        column_metadata.record(iter(events), cache, "f1", {"model.segments.a", "model.segments.b"})
    )
    assert not cache.exists()


def test_a_changed_fingerprint_or_a_damaged_file_means_computing_again(tmp_path):
    cache = tmp_path / column_metadata.CACHE_FILE
    list(column_metadata.record(iter([_computed("model.s.a")]), cache, "f1", {"model.s.a"}))
    assert column_metadata.load(cache, "f1") is not None
    assert column_metadata.load(cache, "f2") is None
    cache.write_text("{not json")
    assert column_metadata.load(cache, "f1") is None
    assert column_metadata.load(tmp_path / "absent.json", "f1") is None


def test_the_second_night_reuses_the_first_nights_lineage_without_computing_it(
    e2e_run, e2e_copy, monkeypatch
):
    """The copy's data folder holds what the shared night (lineage on) stored; its dbt
    step attaches that, and never asks dagster-dbt to compute the metadata again, nor
    opens dbt's adapter in this process (which only computing it reads through)."""
    cache = nightly_target(str(e2e_copy["warehouse"])) / column_metadata.CACHE_FILE
    assert json.loads(cache.read_text())["fingerprint"]

    def refuse(self, *args, **kwargs):
        raise AssertionError("column metadata computed again on an unchanged project")

    monkeypatch.setattr(DbtEventIterator, "fetch_column_metadata", refuse)
    adapters_opened = []
    monkeypatch.setattr(
        DbtCliResource, "_initialize_dbt_core_adapter", lambda self, args: adapters_opened.append(1)
    )
    env = dataclasses.replace(e2e_copy["env"], column_lineage=True)
    dim_clients = AssetKey(["marts", "dim_clients"])
    with DagsterInstance.ephemeral() as instance:
        result = nightly_job(env).execute_in_process(
            instance=instance, asset_selection=[dim_clients], raise_on_error=False
        )
        assert result.success, [e.message for e in result.all_events if e.is_failure]
        assert adapters_opened == []
        tonight = instance.get_latest_materialization_event(dim_clients).asset_materialization
    first = e2e_run["instance"].get_latest_materialization_event(dim_clients).asset_materialization
    for key in column_metadata.COLUMN_KEYS:
        assert tonight.metadata[key].value == first.metadata[key].value


def test_the_build_is_read_to_its_end_before_the_columns_are_fetched():
    """dagster-dbt's fetch polls without pause while it waits for a DuckDB build; the
    build's events are read first, here, and replayed, a failure after them."""
    read = []

    def build():
        for i in range(3):
            read.append(i)
            yield i
        raise RuntimeError("dbt build failed")

    replay = column_metadata.after_the_build(build())
    assert read == [0, 1, 2]  # read to the end before anything asks for an event
    replayed = []
    with pytest.raises(RuntimeError, match="dbt build failed"):
        replayed.extend(replay)
    assert replayed == [0, 1, 2]
