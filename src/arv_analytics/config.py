"""The one settings object. Every setting is an environment variable with the prefix ``ARV_``."""

from __future__ import annotations

from functools import lru_cache
from typing import Literal

from pydantic import Field, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_DATABASE_URL = "sqlite+aiosqlite:///./arv_analytics.db"
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

    @field_validator("database_url")
    @classmethod
    def _known_driver(cls, value: str) -> str:
        if not value.startswith(_SUPPORTED_DRIVERS):
            raise ValueError("must start with sqlite+aiosqlite:// or postgresql+asyncpg://")
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
