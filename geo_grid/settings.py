"""Runtime settings, read from the environment (prefix GEO_GRID_) only when Settings() is built."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from geo_grid import assessment

PROJECT_ROOT = Path(__file__).resolve().parent.parent
SAMPLE_DIR = PROJECT_ROOT / "sample_boundaries"


class Settings(BaseSettings):
    """Everything configurable about a geo_grid process.

    Without GEO_GRID_DATABASE_URL the service runs an embedded PostgreSQL + PostGIS cluster in
    `data_dir` (zero configuration); with it, it serves that database and starts nothing.
    """

    model_config = SettingsConfigDict(env_prefix="GEO_GRID_", env_file=None, extra="ignore")

    database_url: str | None = Field(
        default=None, description="postgresql+psycopg2://… of an existing PostGIS; unset = embedded cluster"
    )
    data_dir: Path = Field(default=PROJECT_ROOT / ".geo_grid", description="home of the embedded cluster")
    pg_bin_dir: Path | None = Field(
        default=None, description="PostgreSQL binaries; default: pg_config --bindir"
    )
    pg_port: int = Field(default=55432, description="port of the embedded cluster (loopback only)")
    pg_user: str = Field(default="postgres", description="OS user that runs the embedded cluster when root")
    database_name: str = "geo_grid"

    now: datetime | None = Field(
        default=None,
        description="fix the clock (geo_grid/clock.py): the instant the process starts at, running on from "
        "there; without an offset it is Beijing time. Unset = real time. Tests set it.",
    )
    sample_keep_times: bool = Field(
        default=False,
        description="load the sample's report times as in the files (default: shifted by whole days so that "
        "the newest report is of the last 24 hours)",
    )

    host: str = "127.0.0.1"
    port: int = 8000
    access_log: bool = Field(
        default=True,
        description="one line per request (client, method, path without query, status, ms) on stderr, "
        "written by a thread of its own",
    )
    workers: int = Field(
        default=1,
        ge=1,
        le=64,
        description="API processes `geo-grid up` serves with (one port; the change feed keeps them in step)",
    )
    sample_dir: Path = SAMPLE_DIR
    load_sample: bool = Field(default=True, description="load the sample data when the database is empty")

    db_pool_size: int = 10
    db_connect_timeout_s: int = 3
    max_batch_points: int = 100_000
    max_upload_bytes: int = Field(
        default=100 * 2**20,
        gt=0,
        description="largest boundary file a planner may upload (POST /generations/…/import); a zip may "
        "unpack to at most 4 times this",
    )
    generation_poll_s: float = Field(
        default=5.0,
        description="how often to look for a generation activated or addresses imported by another process (0: never)",
    )

    # Tokens and the audit trail (README: "Security and data protection"): a revoked token is refused within token_cache_ttl_s;
    # while the database is unreachable, a token validated within token_grace_s keeps working for reads.
    token_cache_ttl_s: float = Field(default=5.0, ge=0, le=60)
    token_grace_s: float = Field(default=3600.0, ge=0)
    audit_queue_max: int = Field(default=10_000, ge=1, description="audit rows of reads held in memory")

    # The 12345 exchange (services/exchange.py): the outbox worker posts messages to the sources' webhooks.
    outbox_poll_s: float = Field(
        default=2.0, ge=0, description="how often the outbox worker looks (0: no worker)"
    )
    outbox_max_attempts: int = Field(default=12, ge=1, description="attempts before a message fails for good")
    outbox_backoff_s: float = Field(default=5.0, gt=0, description="first retry delay; doubles each attempt")
    outbox_backoff_max_s: float = Field(default=3600.0, gt=0, description="longest retry delay")
    outbox_timeout_s: float = Field(default=10.0, gt=0, description="time a webhook has to answer")

    # Report intake rules (issue 5); distances in metres, computed in EPSG:4547.
    near_boundary_m: float = 10.0
    duplicate_radius_m: float = 50.0
    duplicate_window_h: float = 72.0
    # Case handling (README "Case handling (数字城管)"): a stage turns yellow at this share of its time.
    yellow_share: float = Field(default=0.8, gt=0, le=1, description="黄灯：阶段时限用去的比例")
    sweep_every_s: float = Field(
        default=60.0,
        ge=0,
        description="how often the service records red lights and brings back parked cases (0: never)",
    )

    # The monthly assessment (geo_grid/assessment.py; README "Assessment (考核)"): the composite score's
    # weights, as JSON (GEO_GRID_ASSESSMENT_WEIGHTS='{"closure_rate": 30, …}'), and the fewest cases a
    # unit needs in the period to be ranked.
    assessment_weights: dict[str, float] = Field(default_factory=lambda: dict(assessment.DEFAULT_WEIGHTS))
    assessment_min_cases: int = Field(default=assessment.DEFAULT_MIN_CASES, ge=0)

    @field_validator("assessment_weights")
    @classmethod
    def _known_weights(cls, value: dict[str, float]) -> dict[str, float]:
        return assessment.check_weights(value)

    # Accounts and browser sessions of the web console (services/accounts.py; README "Accounts and sessions").
    session_idle_timeout_s: float = Field(
        default=1800.0, gt=0, description="a browser session ends after this long without a request"
    )
    session_max_age_s: float = Field(
        default=12 * 3600.0, gt=0, description="a browser session ends this long after login, used or not"
    )
    login_max_failures: int = Field(
        default=5, ge=1, description="failed logins within login_failure_window_s that lock an account"
    )
    login_failure_window_s: float = Field(default=900.0, gt=0, description="window of the failures counted")
    login_lockout_s: float = Field(default=900.0, gt=0, description="how long a locked account stays locked")
    trust_forwarded_proto: bool = Field(
        default=False,
        description="behind a TLS-terminating reverse proxy: trust X-Forwarded-Proto: https (Secure cookies)",
    )

    # The published lookup index of several subdistricts (services/index_publication.py): built once per
    # change, loaded memory-mapped by every process that can read the folder (workers, replicas on one disk).
    lookup_store_dir: Path | None = Field(
        default=None, description="where the live lookup index is published; default <data_dir>/lookup"
    )

    # Photos (io/photos.py, services/photos.py).
    photos_dir: Path | None = Field(
        default=None, description="where photos are stored; default <data_dir>/photos"
    )
    photo_max_bytes: int = Field(default=10 << 20, gt=0, description="largest photo upload (the file itself)")
    photo_max_pixels: int = Field(
        default=40_000_000,
        gt=0,
        description="largest width × height decoded (decompression bombs are refused)",
    )
    photo_max_side: int = Field(
        default=2560, gt=0, description="longest side of the stored (re-encoded) photo"
    )
    photo_thumb_side: int = Field(default=320, gt=0, description="longest side of a thumbnail")

    def photos_path(self) -> Path:
        return self.photos_dir if self.photos_dir is not None else self.data_dir / "photos"

    def lookup_store_path(self) -> Path:
        return self.lookup_store_dir if self.lookup_store_dir is not None else self.data_dir / "lookup"

    @field_validator("now")
    @classmethod
    def _beijing_if_naive(cls, value: datetime | None) -> datetime | None:
        if value is not None and value.tzinfo is None:
            return value.replace(tzinfo=ZoneInfo("Asia/Shanghai"))
        return value

    # Maps: "none" (plain background, always works), "xyz", "tianditu" or "gaode" (a GCJ-02 basemap).
    basemap: str = "none"
    basemap_url: str | None = None
    tianditu_key: str | None = None
    # Above this many micro-grids, the coverage pages draw grids and communities from the vector tiles
    # (GET /tiles/…) instead of embedding them as GeoJSON, so that a district's or city's page stays small.
    map_tiles_above: int = Field(
        default=3000, ge=0, description="micro-grids above which the coverage map uses vector tiles"
    )
    # Above this many reports shown, the incident map draws them from the vector tiles (GET /tiles/reports/…).
    map_reports_tiled_above: int = Field(
        default=3000, ge=0, description="reports shown above which the incident map uses vector tiles"
    )

    # Hostile input (geo_grid/api/limits.py): what one caller may cost the service. 0 turns a rate off.
    max_query_chars: int = Field(
        default=300, description="longest address query, on every route (batch: per query)"
    )
    body_limit_bytes: int = Field(default=1 << 20, description="request body limit of every route not below")
    body_limit_lookup_batch_bytes: int = Field(default=8 << 20, description="POST /lookup/batch body limit")
    body_limit_address_batch_bytes: int = Field(
        default=24 << 20, description="POST /lookup/address/batch (10,000 × 300 characters, \\u-escaped)"
    )
    body_limit_photo_bytes: int = Field(
        default=11 << 20,
        description="multipart photo uploads (POST /reports/{id}/photos): a photo and its form",
    )
    body_limit_upload_bytes: int = Field(
        default=256 << 20, description="multipart boundary imports (/generations/import, …/{id}/import)"
    )
    rate_anonymous_batches_per_min: int = Field(
        default=20, description="batches per client address (no token)"
    )
    rate_anonymous_writes_per_min: int = Field(
        default=30, description="POST/PUT/PATCH/DELETE per address (no token)"
    )
    rate_token_batches_per_min: int = Field(default=120, description="batches per API token")
    rate_token_writes_per_min: int = Field(default=600, description="writes per API token")
    batch_concurrency: int = Field(
        default=1, description="batches of one kind computed at once (worker threads)"
    )
    past_directories_cache: int = Field(
        default=8, description="past/draft generations kept in memory for /lookup"
    )
    past_index_max_cells: int = Field(
        default=250_000,
        description="raster cells of a past generation's index (smaller = cheaper, still exact)",
    )
    header_timeout_s: float = Field(
        default=10.0, description="seconds a client has to send a request's headers (geo-grid up; 0 = none)"
    )
