"""The one settings object. Every setting is an environment variable with the prefix ``ARV_``."""

from __future__ import annotations

import re
from functools import lru_cache
from ipaddress import IPv4Network, IPv6Network, ip_network
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import Field, ValidationError, ValidationInfo, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from arv_analytics.tenancy.tokens import weakness

DEFAULT_DATABASE_URL = "sqlite+aiosqlite:///./arv_analytics.db"

Network = IPv4Network | IPv6Network
# Lists are comma-separated in the environment, which is easier to write than JSON.
CommaList = Annotated[list[str], NoDecode]
NetworkList = Annotated[list[Network], NoDecode]


def _split(value: Any) -> Any:
    if isinstance(value, str):
        return [part.strip() for part in value.split(",") if part.strip()]
    return value


# The public npm CDN the original viewer loaded MindAR and three.js from. The viewer appends
# "<package>@<version>/<file>", so any mirror with the same layout works, including the app's
# own /assets/vendor (see web/assets.py).
DEFAULT_VIEWER_ASSETS_URL = "https://cdn.jsdelivr.net/npm"
_SUPPORTED_DRIVERS = ("sqlite+aiosqlite", "postgresql+asyncpg")


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="ARV_", extra="ignore", frozen=True)

    environment: Literal["development", "production"] = Field(
        default="development",
        description="`production` enables stricter start-up checks.",
    )
    database_url: str = Field(
        default=DEFAULT_DATABASE_URL,
        description="SQLAlchemy URL: sqlite+aiosqlite:///path.db or postgresql+asyncpg://…",
    )
    clickhouse_url: str | None = Field(
        default=None,
        description="clickhouse://user:password@host:9000/database (native protocol). Set: "
        "sessions are also written to ClickHouse and analytics are answered from there "
        "(docs/scale-out.md).",
    )
    clickhouse_cluster: str | None = Field(
        default=None,
        description="A cluster of the ClickHouse server's remote_servers: sessions are "
        "sharded over it by session_id. Unset: one server.",
    )
    admin_token: str | None = Field(
        default=None,
        min_length=24,
        description="Bootstrap admin bearer token. Unset: `serve` generates one on first start.",
    )
    window_days: int = Field(default=30, ge=1, le=366, description="Default analytics window.")
    max_session_seconds: int = Field(
        default=14_400, ge=1, le=7 * 86_400, description="Upper clamp for duration_seconds."
    )
    max_body_bytes: int = Field(
        default=16_384, ge=1_024, le=1_048_576, description="Largest accepted tracking body."
    )
    viewer_assets_url: str = Field(
        default=DEFAULT_VIEWER_ASSETS_URL,
        description="Base URL of MindAR and three.js for the viewer: an http(s) URL or a path "
        "such as /assets/vendor (the local copy installed by `make vendor`).",
    )
    dashboard_session_hours: int = Field(
        default=12,
        ge=1,
        le=24 * 30,
        description="How long a dashboard sign-in lasts before the token is asked again.",
    )
    heartbeat_seconds: int = Field(
        default=15,
        ge=1,
        le=300,
        description="How often the viewer's tracker reports the visible time while visible.",
    )
    respect_gpc: bool = Field(
        default=True,
        description="The viewer's tracker sends nothing from browsers with Global Privacy Control.",
    )

    # --- the write path -----------------------------------------------------------------
    ingest_mode: Literal["buffered", "naive"] = Field(
        default="buffered",
        description="`buffered`: group commit; `naive`: one INSERT+COMMIT per request "
        "(the seed's design, kept for benchmark comparisons)",
    )
    write_batch_max: int = Field(default=500, ge=1, le=5_000, description="Writes per commit")
    write_batch_wait_ms: float = Field(
        default=2.0, ge=0, le=1_000, description="How long a short batch waits for company"
    )
    write_queue_max: int = Field(
        default=20_000, ge=1, le=1_000_000, description="Queued writes before 503s"
    )
    rollup_detail_views: int = Field(
        default=10_000,
        ge=0,
        description="Human views over 30 days that give a content its own hour and "
        "per-property rows (0: never)",
    )
    write_batches_in_flight: int = Field(
        default=1,
        ge=1,
        le=8,
        description="Write batches one process commits at once on PostgreSQL (SQLite: always 1)",
    )
    analytics_source: Literal["rollups", "raw"] = Field(
        default="rollups",
        description="Answer analytics from the rollups or by aggregating the raw table",
    )
    catalog_refresh_seconds: float = Field(
        default=2.0, gt=0, le=5, description="How often each process checks the catalog"
    )

    # --- enrichment and privacy ---------------------------------------------------------
    ip_mode: Literal["hash", "truncate", "full", "none"] = Field(
        default="hash",
        description="What ip_address stores: daily-salted HMAC, /24 or /48 prefix, the address, "
        "or nothing",
    )
    trusted_proxies: NetworkList = Field(
        default_factory=list,
        description="Networks whose X-Forwarded-For / Forwarded headers are believed",
    )
    geoip_city_db: Path | None = Field(
        default=None, description="MaxMind-format city database (.mmdb) for `city`"
    )
    store_bots: bool = Field(default=True, description="Keep bot sessions (flagged is_bot)")
    bot_user_agents: CommaList = Field(
        default_factory=list, description="Extra regular expressions that mark a user agent a bot"
    )
    bot_networks: NetworkList = Field(
        default_factory=list, description="Networks whose sessions are bots"
    )
    retention_days: int = Field(
        default=395, ge=1, le=36_500, description="Sessions older than this are deleted"
    )
    jobs_enabled: bool = Field(
        default=True, description="Run periodic jobs (salts, retention) inside the server"
    )

    @field_validator("trusted_proxies", "bot_networks", mode="before")
    @classmethod
    def _networks(cls, value: Any) -> Any:
        items = _split(value)
        if isinstance(items, list):
            return [ip_network(v, strict=False) if isinstance(v, str) else v for v in items]
        return items

    @field_validator("bot_user_agents", mode="before")
    @classmethod
    def _patterns(cls, value: Any) -> Any:
        items = _split(value)
        for pattern in items if isinstance(items, list) else []:
            try:
                re.compile(pattern)
            except re.error as exc:
                raise ValueError(f"invalid regular expression {pattern!r}: {exc}") from None
        return items

    # --- abuse resistance ---------------------------------------------------------------
    end_grace_seconds: int = Field(
        default=900,
        ge=0,
        le=86_400,
        description="An end is accepted until max_session_seconds plus this after the start.",
    )
    rate_limit_per_minute: int = Field(
        default=600,
        ge=0,
        le=1_000_000,
        description="Tracking requests per client and minute; 0 turns rate limiting off.",
    )
    rate_limit_burst: int = Field(
        default=60, ge=1, le=100_000, description="Tracking requests per client within one second."
    )
    redis_url: str | None = Field(
        default=None,
        description="redis://host:6379/0: share rate limits between processes. Unset: per process.",
    )
    redis_key_prefix: str = Field(
        default="arv",
        min_length=1,
        max_length=50,
        pattern=r"^[A-Za-z0-9_.:-]+$",
        description="Prefix of every Redis key, so that installations can share one Redis.",
    )

    # --- operations ---------------------------------------------------------------------
    metrics_token: str | None = Field(
        default=None,
        min_length=24,
        description="Bearer token for GET /metrics on the main port. Unset: /metrics answers 401.",
    )
    metrics_port: int | None = Field(
        default=None,
        ge=1,
        le=65_535,
        description="Also serve the metrics, without a token, on this port (ARV_METRICS_HOST).",
    )
    metrics_host: str = Field(
        default="127.0.0.1", description="Interface of ARV_METRICS_PORT; keep it private."
    )
    log_format: Literal["text", "json"] = Field(
        default="text", description="`json`: one JSON object per log line, with the request id."
    )
    access_log: bool = Field(
        default=True, description="One log line per request (no client address, no query)."
    )
    tls_cert: Path | None = Field(
        default=None, description="PEM certificate (chain) for `serve` to speak HTTPS itself."
    )
    tls_key: Path | None = Field(default=None, description="PEM private key of ARV_TLS_CERT.")

    @field_validator("database_url")
    @classmethod
    def _known_driver(cls, value: str) -> str:
        if not value.startswith(_SUPPORTED_DRIVERS):
            raise ValueError("must start with sqlite+aiosqlite:// or postgresql+asyncpg://")
        return value

    @field_validator("clickhouse_url")
    @classmethod
    def _clickhouse_scheme(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(("clickhouse://", "clickhouses://")):
            raise ValueError("must start with clickhouse:// or clickhouses://")
        return value

    @field_validator("viewer_assets_url")
    @classmethod
    def _assets_base(cls, value: str) -> str:
        value = value.strip().rstrip("/")
        if not (value.startswith(("http://", "https://")) or value.startswith("/")):
            raise ValueError("must be an http(s):// URL or an absolute path such as /assets/vendor")
        if any(c in value for c in "\"'<> "):
            raise ValueError("must not contain quotes, spaces or angle brackets")
        return value

    @property
    def uses_rollups(self) -> bool:
        # The naive write path does not maintain rollups, so it is always read raw.
        return self.analytics_source == "rollups" and self.ingest_mode == "buffered"

    @field_validator("admin_token", "metrics_token")
    @classmethod
    def _strong_in_production(cls, value: str | None, info: ValidationInfo) -> str | None:
        if value is not None and info.data.get("environment") == "production":
            reason = weakness(value)
            if reason:
                raise ValueError(f"too weak for production ({reason}); use `openssl rand -hex 32`")
        return value

    @field_validator("redis_url")
    @classmethod
    def _redis_scheme(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(("redis://", "rediss://", "unix://")):
            raise ValueError("must start with redis://, rediss:// or unix://")
        return value

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")


def describe_error(exc: ValidationError) -> str:
    """One line naming the offending environment variable(s), for start-up failures."""
    parts = []
    for err in exc.errors():
        name = "ARV_" + "_".join(str(p) for p in err["loc"]).upper()
        parts.append(f"{name}: {err['msg']}")
    return "invalid setting " + "; ".join(parts)


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
