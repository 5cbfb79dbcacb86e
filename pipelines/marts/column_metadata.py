"""Column schemas and column lineage of the dbt models, computed once per dbt project.

dagster-dbt's `fetch_column_metadata()` reads every model's columns (and its parents')
through an in-process adapter and parses its compiled SQL with sqlglot: 10-20 s a night
on two cores, whatever the data's size. What it finds depends on the project's SQL and
the columns of the tables it reads, not on the night's rows or its as_of, so the first
night after a change of either (or of the rules' dbt vars) computes it and stores it
beside the nightly dbt artifacts; the nights after attach the stored metadata to the
same events.
"""

import hashlib
import json
import logging
from collections.abc import Iterator
from importlib.metadata import version
from pathlib import Path
from typing import Any

from dagster import deserialize_value, serialize_value
from dagster_dbt.core.dbt_event_iterator import DbtEventIterator

logger = logging.getLogger(__name__)

CACHE_FILE = "column_metadata.json"
# What fetch_column_metadata attaches; the other metadata of an event is the night's own.
COLUMN_KEYS = ("dagster/column_schema", "dagster/column_lineage")


def source_columns(con, manifest_path: Path) -> list[tuple[str, str, str, str]]:
    """The columns, with types, of the tables the dbt project declares as sources
    (other tables of those schemas, such as the build state, do not count)."""
    sources = json.loads(manifest_path.read_text(encoding="utf-8"))["sources"].values()
    tables = sorted({(s["schema"], s["identifier"]) for s in sources})
    return con.execute(
        """select table_schema, table_name, column_name, data_type
           from information_schema.columns
           where list_contains(?, table_schema || '.' || table_name)
           order by all""",
        [[f"{schema}.{name}" for schema, name in tables]],
    ).fetchall()


def project_fingerprint(
    manifest_path: Path, sources: list[tuple[str, str, str, str]], dbt_vars: dict[str, Any]
) -> str:
    """What the column metadata depends on: the parsed dbt project (its SQL and
    schema files), the columns of the tables it reads (source_columns), the vars
    but as_of (revenue_source picks the SQL of int_revenue_lines), and the versions of
    the tools that compute it."""
    digest = hashlib.sha256(manifest_path.read_bytes())
    rules = {k: v for k, v in dbt_vars.items() if k != "as_of"}
    digest.update(json.dumps([sources, rules], sort_keys=True, default=str).encode())
    for package in ("dbt-core", "dbt-duckdb", "dagster-dbt", "sqlglot"):
        digest.update(f"{package}=={version(package)}".encode())
    return digest.hexdigest()


def _unique_id(event: Any) -> str | None:
    value = getattr(event, "metadata", {}).get("unique_id")
    text = getattr(value, "text", value)
    return text if isinstance(text, str) and text.startswith("model.") else None


def load(cache_path: Path, fingerprint: str) -> dict[str, dict[str, Any]] | None:
    """The stored metadata by model unique_id, or None when there is none for this
    fingerprint (first night, a changed project, an unreadable file)."""
    try:
        stored = json.loads(cache_path.read_text(encoding="utf-8"))
        if stored.get("fingerprint") != fingerprint:
            return None
        models = deserialize_value(stored["models"])
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return models if isinstance(models, dict) else None


def attach(events: Iterator[Any], models: dict[str, dict[str, Any]]) -> Iterator[Any]:
    """The night's dbt events with each model's stored column metadata attached."""
    for event in events:
        uid = _unique_id(event)
        if uid is not None and uid in models:
            event = event.with_metadata({**event.metadata, **models[uid]})
        yield event


def record(
    events: Iterator[Any], cache_path: Path, fingerprint: str, model_ids: set[str]
) -> Iterator[Any]:
    """Pass the events through, keeping each model's column metadata; once the build
    has given it for every model of the project, store it for the nights after."""
    found: dict[str, dict[str, Any]] = {}
    for event in events:
        uid = _unique_id(event)
        if uid is not None:
            columns = {k: v for k, v in event.metadata.items() if k in COLUMN_KEYS}
            if columns:
                found[uid] = columns
        yield event
    if not model_ids <= found.keys():
        logger.info(
            "column metadata not stored: %d of %d models have it tonight",
            len(found.keys() & model_ids),
            len(model_ids),
        )
        return
    cache_path.parent.mkdir(parents=True, exist_ok=True)
    partial = cache_path.with_suffix(".tmp")
    partial.write_text(
        json.dumps({"fingerprint": fingerprint, "models": serialize_value(found)}),
        encoding="utf-8",
    )
    partial.replace(cache_path)


def with_column_metadata(
    events: Any, invocation: Any, stored: dict[str, dict[str, Any]] | None, fingerprint: str,
    log: Any,
) -> Iterator[Any]:  # fmt: skip
    """The dbt events of `invocation` with each model's column metadata: `stored` (what
    `load` found for this fingerprint) when there is one, else computed by dagster-dbt
    (through its in-process adapter, as models finish) and stored."""
    if stored is not None:
        return attach(events, stored)
    log.info(
        "column schemas and lineage: computing them (first night of this dbt project, "
        "these source columns and rules); the nights after reuse them"
    )
    models = {
        uid for uid, node in invocation.manifest["nodes"].items()
        if node["resource_type"] == "model"
    }  # fmt: skip
    built = DbtEventIterator(after_the_build(events), invocation)
    return record(
        built.fetch_column_metadata(), invocation.target_path / CACHE_FILE, fingerprint, models
    )


def after_the_build(events: Iterator[Any]) -> Iterator[Any]:
    """The build's events, once it has finished, then its error if it failed.

    With DuckDB, dagster-dbt's fetch_column_metadata waits for the build to end before
    reading columns (the build holds the database), and its thread pool's loop polls
    without pause meanwhile (dagster._core.utils.imap): a core of two spun for the
    whole build. Waiting here, on the dbt process's output, leaves the fetch only its
    own queries."""
    finished: list[Any] = []
    failure: Exception | None = None
    try:
        finished.extend(events)
    except Exception as exc:  # re-raised after the events that came before it
        failure = exc

    def replay() -> Iterator[Any]:
        yield from finished
        if failure is not None:
            raise failure

    return replay()
