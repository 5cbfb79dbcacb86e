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
    profile_path: Path | None
    schedule_cron: str
    schedule_timezone: str

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


def _profile(value: str | None) -> Path | None:
    """A profile by name (config/profiles/<name>.yml) or by path."""
    if not value:
        return None
    if "/" not in value and not value.endswith((".yml", ".yaml")):
        return REPO_ROOT / "config" / "profiles" / f"{value}.yml"
    return Path(value).expanduser().resolve()


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
        profile_path=_profile(os.getenv("SEGMENTS_PROFILE")),
        schedule_cron=os.getenv("SEGMENTS_SCHEDULE_CRON", "0 2 * * *"),
        schedule_timezone=os.getenv("SEGMENTS_SCHEDULE_TIMEZONE", "Europe/Moscow"),
    )
    os.environ["SEGMENTS_WAREHOUSE_PATH"] = str(settings.warehouse_path)
    return settings
