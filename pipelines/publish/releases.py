"""Kept releases, rollback and the guard against silent data loss.

Every publication also lands, as an independent copy, in `<publish_dir>/releases/`
under `segments-<as_of>-<run_id>.duckdb`; the newest N (default 7) are kept. Rolling
back swaps a kept copy in the same way a night is published: copy to a temporary
name in the publish folder, fsync, rename over `segments.duckdb`.
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import duckdb

from pipelines.db import fetch_one
from pipelines.settings import PUBLISHED_FILE

RELEASES_DIR = "releases"
# Columns that differ between two runs of the same night by design.
VOLATILE_COLUMNS = {"run_id", "published_at", "loaded_at", "loaded_by_run_id"}


def fsync_path(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def content_hash(con: duckdb.DuckDBPyConnection, table: str) -> str:
    """Row count and an order-independent hash of every row, leaving out the columns
    that name the run or the time: two runs of the same night hash the same."""
    columns = [
        r[0]
        for r in con.execute(
            "select column_name from information_schema.columns where table_name = ? "
            "order by ordinal_position",
            [table],
        ).fetchall()
        if r[0] not in VOLATILE_COLUMNS
    ]
    quoted = ", ".join('"' + c.replace('"', '""') + '"' for c in columns)
    rows, digest = fetch_one(
        con, f"select count(*), coalesce(sum(hash({quoted})), 0)::hugeint from {table}"
    )
    return f"{rows}:{digest}"


@dataclass(frozen=True)
class Totals:
    clients: int
    revenue_t12m: float


def published_totals(path: Path) -> Totals | None:
    """Client count and total revenue_t12m of the release BI reads now, if any."""
    if not path.exists():
        return None
    with duckdb.connect(str(path), read_only=True) as con:
        clients, revenue = fetch_one(
            con, "select count(*), coalesce(sum(revenue_t12m), 0)::double from client_segments"
        )
    return Totals(int(clients), float(revenue))


def drop_violations(previous: Totals | None, new: Totals, max_drop_share: float) -> list[str]:
    """What dropped by more than `max_drop_share` against the previous publication."""
    if previous is None:
        return []
    limit = Fraction(str(max_drop_share))
    problems = []
    for label, before, after, fmt in [
        ("client count", previous.clients, new.clients, "{:,.0f}"),
        ("total revenue_t12m", previous.revenue_t12m, new.revenue_t12m, "{:,.2f}"),
    ]:
        if before <= 0:
            continue
        drop = Fraction(str(before)) - Fraction(str(after))
        if drop > limit * Fraction(str(before)):
            problems.append(
                f"{label} dropped from {fmt.format(before)} to {fmt.format(after)} "
                f"({float(drop / Fraction(str(before))):.1%}, more than the allowed "
                f"{max_drop_share:.0%})"
            )
    return problems


def archive_release(published_file: Path, as_of, run_id: str, keep: int, log) -> Path:
    """Copy the file just published into releases/ and keep only the newest `keep`."""
    folder = published_file.parent / RELEASES_DIR
    folder.mkdir(exist_ok=True)
    name = f"segments-{as_of}-{run_id}.duckdb"
    temporary = folder / f".{name}.tmp"
    shutil.copyfile(published_file, temporary)
    fsync_path(temporary)
    os.replace(temporary, folder / name)
    fsync_path(folder)
    for old in list_releases(published_file.parent)[keep:]:
        log.info(f"pruning release {old.name} (keeping the newest {keep})")
        old.unlink()
    return folder / name


def list_releases(publish_dir: Path) -> list[Path]:
    """Kept releases, newest first."""
    folder = publish_dir / RELEASES_DIR
    if not folder.exists():
        return []
    return sorted(
        folder.glob("segments-*.duckdb"), key=lambda p: (p.stat().st_mtime_ns, p.name), reverse=True
    )


def release_identity(path: Path) -> tuple[str, str]:
    with duckdb.connect(str(path), read_only=True) as con:
        as_of, run_id = fetch_one(con, "select as_of::varchar, run_id from release")
    return as_of, run_id


def rollback(publish_dir: Path, to: str | None = None) -> Path:
    """Make a kept release the published one. `to`: a release file name (or a unique
    part of it, e.g. its run id); default: the newest kept release that differs from
    what is published now."""
    target = publish_dir / PUBLISHED_FILE
    releases = list_releases(publish_dir)
    if not releases:
        raise ValueError(f"no kept releases in {publish_dir / RELEASES_DIR}")
    current = release_identity(target) if target.exists() else None
    if to:
        matches = [r for r in releases if to in r.name]
        if len(matches) != 1:
            names = ", ".join(r.name for r in releases)
            raise ValueError(f"{to!r} matches {len(matches)} kept releases; kept: {names}")
        chosen = matches[0]
    else:
        older = [r for r in releases if release_identity(r) != current]
        if not older:
            raise ValueError("no kept release other than the one published")
        chosen = older[0]
    temporary = publish_dir / f".{PUBLISHED_FILE}.rollback-{os.getpid()}.tmp"
    try:
        shutil.copyfile(chosen, temporary)
        with duckdb.connect(str(temporary), read_only=True) as check:
            fetch_one(check, "select count(*) from client_segments")
        fsync_path(temporary)
        stale_wal = Path(f"{target}.wal")
        if stale_wal.exists():
            stale_wal.unlink()
        os.replace(temporary, target)
        fsync_path(publish_dir)
    finally:
        temporary.unlink(missing_ok=True)
    return chosen
