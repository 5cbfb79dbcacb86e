"""Every environment variable the pipeline reads, with its default, in one place.

Listed in `.env.example`. Read when the code location loads, so the UI shows the
values in use. SEGMENTS_WAREHOUSE_PATH is exported here for dbt's profiles.yml so
that dbt and the Python assets always open the same DuckDB file.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
DBT_PROJECT_DIR = REPO_ROOT / "dbt_project"
OWNER = "team:data-engineering"


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

    @property
    def revenue_overrides(self) -> dict[str, str | None]:
        """What the environment overrides in the rules' revenue section (load_rules)."""
        return {"source": self.revenue_source, "reporting_currency": self.reporting_currency}

    @property
    def warehouse_path(self) -> Path:
        return self.data_dir / "warehouse.duckdb"

    @property
    def sample_exports_dir(self) -> Path:
        return self.data_dir / "sample_exports"

    @property
    def effective_exports_dir(self) -> Path:
        return self.exports_dir or self.sample_exports_dir


def _path(name: str, default: Path) -> Path:
    value = os.getenv(name)
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
            paths.append(REPO_ROOT / "config" / "profiles" / f"{item}.yml")
        else:
            paths.append(Path(item).expanduser().resolve())
    return tuple(paths)


def from_env() -> EnvSettings:
    data_dir = _path("SEGMENTS_DATA_DIR", REPO_ROOT / "data")
    exports = os.getenv("SEGMENTS_EXPORTS_DIR")
    settings = EnvSettings(
        exports_dir=Path(exports).expanduser().resolve() if exports else None,
        data_dir=data_dir,
        publish_dir=_path("SEGMENTS_PUBLISH_DIR", data_dir / "publish"),
        as_of=os.getenv("SEGMENTS_AS_OF") or None,
        rules_path=_path("SEGMENTS_CONFIG", REPO_ROOT / "config" / "segmentation.yml"),
        contract_path=_path("SEGMENTS_CONTRACT", REPO_ROOT / "config" / "contract.yml"),
        accept_drop=os.getenv("SEGMENTS_ACCEPT_DROP", "").lower() in ("1", "true", "yes"),
        keep_releases=int(os.getenv("SEGMENTS_KEEP_RELEASES") or 7),
        profile_paths=_profiles(os.getenv("SEGMENTS_PROFILE")),
        schedule_cron=os.getenv("SEGMENTS_SCHEDULE_CRON", "0 2 * * *"),
        schedule_timezone=os.getenv("SEGMENTS_SCHEDULE_TIMEZONE", "Europe/Moscow"),
        # revenue.source (invoices | won_deals) and revenue.reporting_currency of
        # config/segmentation.yml, for this deployment; they reach dbt as vars.
        revenue_source=os.getenv("SEGMENTS_REVENUE_SOURCE") or None,
        reporting_currency=os.getenv("SEGMENTS_REPORTING_CURRENCY") or None,
    )
    os.environ["SEGMENTS_WAREHOUSE_PATH"] = str(settings.warehouse_path)
    return settings
