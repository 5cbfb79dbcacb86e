"""Every environment variable the pipeline reads, with its default, in one place.

Listed in `.env.example`. Read once, when the definitions are built
(`pipelines.definitions.build_definitions`), and handed to the resources from there:
nothing here runs at import or writes the environment, so a test builds definitions
with its own settings in the same process.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
DBT_PROJECT_DIR = REPO_ROOT / "dbt_project"
CONFIG_DIR = REPO_ROOT / "config"
OWNER = "team:data-engineering"
# The one file BI tools open, in the publish folder.
PUBLISHED_FILE = "segments.duckdb"
POSTGRES_URL_VAR = "SEGMENTS_PUBLISH_POSTGRES_URL"
# Half the machine (DuckDB's own default is 80%): the dbt process, the Python steps'
# frames and the OS page cache of the exports need the rest.
DEFAULT_MEMORY_LIMIT = "50%"
MEMORY_LIMIT = re.compile(r"^\s*\d+(\.\d+)?\s*(%|[KMGT]i?B)\s*$", re.IGNORECASE)


@dataclass(frozen=True)
class EnvSettings:
    exports_dir: Path | None  # None: generate sample exports under data_dir
    data_dir: Path
    publish_dir: Path
    as_of: str | None
    rules_path: Path
    contract_path: Path
    accept_drop: bool
    keep_releases: int
    profile_paths: tuple[Path, ...]
    schedule_cron: str
    schedule_timezone: str
    revenue_source: str | None = None  # None: revenue.source of the rules file
    reporting_currency: str | None = None  # None: revenue.reporting_currency of the file
    release_max_age_hours: float = 26.0  # the release's freshness check fails beyond it
    # PostgreSQL publication for BI servers: off unless the URL is set. The URL (with its
    # credentials) is only ever read from the environment, by its variable's name.
    postgres_url_set: bool = False
    postgres_schema: str = "segments"
    postgres_readers: tuple[str, ...] = ()
    # DuckDB's memory_limit for every connection of a night, dbt's included: a size
    # (`8GB`) or a share of the machine (`50%`); past it DuckDB spills to data_dir.
    memory_limit: str = DEFAULT_MEMORY_LIMIT
    column_lineage: bool = True  # dbt models' column lineage in the UI (a few seconds a night)
    full_refresh: bool = False  # every night a full dbt build, never an incremental one

    @property
    def revenue_overrides(self) -> dict[str, str | None]:
        """What the environment overrides in the rules' revenue section (load_rules)."""
        return {"source": self.revenue_source, "reporting_currency": self.reporting_currency}

    @property
    def warehouse_path(self) -> Path:
        return self.data_dir / "warehouse.duckdb"

    @property
    def published_path(self) -> Path:
        return self.publish_dir / PUBLISHED_FILE

    @property
    def spill_dir(self) -> Path:
        return self.data_dir / "duckdb_spill"

    @property
    def sample_exports_dir(self) -> Path:
        return self.data_dir / "sample_exports"

    @property
    def effective_exports_dir(self) -> Path:
        return self.exports_dir or self.sample_exports_dir


def _path(value: str | None, default: Path) -> Path:
    return Path(value).expanduser().resolve() if value else default


def _profiles(value: str | None) -> tuple[Path, ...]:
    """Profiles by name (config/profiles/<name>.yml) or by path, comma-separated, one per
    source system: `salesforce,stripe`."""
    paths = []
    for item in (value or "").split(","):
        item = item.strip()
        if not item:
            continue
        if "/" not in item and not item.endswith((".yml", ".yaml")):
            paths.append(CONFIG_DIR / "profiles" / f"{item}.yml")
        else:
            paths.append(Path(item).expanduser().resolve())
    return tuple(paths)


class SettingsError(ValueError):
    """A SEGMENTS_* variable whose value cannot be used; the message says which and why."""


def _memory_limit(value: str | None) -> str:
    if not value:
        return DEFAULT_MEMORY_LIMIT
    if not MEMORY_LIMIT.match(value):
        raise SettingsError(
            f"SEGMENTS_MEMORY_LIMIT={value!r} is not a memory size: give one as DuckDB takes "
            "it, such as 8GB, 512MB or 50% (of the machine's memory)"
        )
    return value.strip()


def from_env(environ: Mapping[str, str] = os.environ) -> EnvSettings:
    """The settings the SEGMENTS_* variables of `environ` give, defaults for the rest."""
    data_dir = _path(environ.get("SEGMENTS_DATA_DIR"), REPO_ROOT / "data")
    exports = environ.get("SEGMENTS_EXPORTS_DIR")
    return EnvSettings(
        exports_dir=Path(exports).expanduser().resolve() if exports else None,
        data_dir=data_dir,
        publish_dir=_path(environ.get("SEGMENTS_PUBLISH_DIR"), data_dir / "publish"),
        as_of=environ.get("SEGMENTS_AS_OF") or None,
        rules_path=_path(environ.get("SEGMENTS_CONFIG"), CONFIG_DIR / "segmentation.yml"),
        contract_path=_path(environ.get("SEGMENTS_CONTRACT"), CONFIG_DIR / "contract.yml"),
        accept_drop=environ.get("SEGMENTS_ACCEPT_DROP", "").lower() in ("1", "true", "yes"),
        keep_releases=int(environ.get("SEGMENTS_KEEP_RELEASES") or 7),
        profile_paths=_profiles(environ.get("SEGMENTS_PROFILE")),
        schedule_cron=environ.get("SEGMENTS_SCHEDULE_CRON", "0 2 * * *"),
        schedule_timezone=environ.get("SEGMENTS_SCHEDULE_TIMEZONE", "Europe/Moscow"),
        # revenue.source (invoices | won_deals) and revenue.reporting_currency of
        # config/segmentation.yml, for this deployment; they reach dbt as vars.
        revenue_source=environ.get("SEGMENTS_REVENUE_SOURCE") or None,
        reporting_currency=environ.get("SEGMENTS_REPORTING_CURRENCY") or None,
        release_max_age_hours=float(environ.get("SEGMENTS_RELEASE_MAX_AGE_HOURS") or 26),
        postgres_url_set=bool(environ.get(POSTGRES_URL_VAR)),
        postgres_schema=environ.get("SEGMENTS_PUBLISH_POSTGRES_SCHEMA") or "segments",
        postgres_readers=tuple(
            r.strip()
            for r in (environ.get("SEGMENTS_PUBLISH_POSTGRES_READERS") or "").split(",")
            if r.strip()
        ),
        memory_limit=_memory_limit(environ.get("SEGMENTS_MEMORY_LIMIT")),
        column_lineage=environ.get("SEGMENTS_COLUMN_LINEAGE", "1").lower()
        not in ("0", "false", "no", "off"),
        full_refresh=environ.get("SEGMENTS_FULL_REFRESH", "0").lower()
        in ("1", "true", "yes", "on"),
    )
