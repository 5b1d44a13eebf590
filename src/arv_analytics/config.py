"""The one settings object. Every setting is an environment variable with the prefix ``ARV_``."""

from __future__ import annotations

from functools import lru_cache
from typing import Literal
from urllib.parse import urlsplit

from pydantic import Field, ValidationError, ValidationInfo, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from arv_analytics.tenancy.tokens import weakness

DEFAULT_DATABASE_URL = "sqlite+aiosqlite:///./arv_analytics.db"
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
    viewer_assets_url: str = Field(
        default="https://cdn.jsdelivr.net/npm/mind-ar@1.2.5/dist/",
        description="Where the AR viewer loads MindAR from; its origin is allowed by the CSP.",
    )

    @field_validator("database_url")
    @classmethod
    def _known_driver(cls, value: str) -> str:
        if not value.startswith(_SUPPORTED_DRIVERS):
            raise ValueError("must start with sqlite+aiosqlite:// or postgresql+asyncpg://")
        return value

    @field_validator("admin_token")
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

    @field_validator("viewer_assets_url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        parts = urlsplit(value)
        if parts.scheme not in ("https", "http") or not parts.hostname:
            raise ValueError("must be an http(s) URL such as https://cdn.example/mind-ar/dist/")
        return value

    @property
    def viewer_assets_origin(self) -> str:
        """scheme://host[:port] of viewer_assets_url: what a CSP source list names."""
        parts = urlsplit(self.viewer_assets_url)
        return f"{parts.scheme}://{parts.netloc}"

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
