"""Per-client rate limit of the public tracking endpoints.

The counting is the ``limits`` library's sliding-window counter: two numbers per client and
limit, in this process's memory, or in Redis when ARV_REDIS_URL is set so that every process
behind a load balancer shares them. Two limits apply at once: a per-second burst and a
per-minute rate.

If Redis fails, requests are let through (and the failure logged): losing abuse protection for
a while is better than losing the views of every visitor.
"""

from __future__ import annotations

import logging
import math
import time
from typing import Any

from fastapi import Request
from limits import RateLimitItem, RateLimitItemPerMinute, RateLimitItemPerSecond
from limits.aio.storage import MemoryStorage, RedisStorage, Storage
from limits.aio.strategies import SlidingWindowCounterRateLimiter
from limits.errors import StorageError

from arv_analytics.config import Settings
from arv_analytics.errors import RateLimited
from arv_analytics.ingest.client_ip import client_ip

log = logging.getLogger(__name__)

# A stalled Redis must not stall tracking: past this, the request goes through unlimited.
_REDIS_TIMEOUT_SECONDS = 0.5
_WARN_EVERY_SECONDS = 60.0


def client_key(request: Request) -> str:
    """Whom a request is counted against: the client address, read through
    ARV_TRUSTED_PROXIES exactly as the write path reads it."""
    settings: Settings = request.app.state.settings
    peer = request.client.host if request.client else None
    return client_ip(peer, request.headers, settings.trusted_proxies) or "unknown"


def _storage_scheme(redis_url: str) -> str:
    # limits picks its async Redis storage by URI scheme; the pool below does the connecting.
    if redis_url.startswith("unix://"):
        return "async+redis+unix://" + redis_url.removeprefix("unix://")
    return "async+" + redis_url


class TrackingLimiter:
    def __init__(self, settings: Settings) -> None:
        self.enabled = settings.rate_limit_per_minute > 0
        self.items: list[RateLimitItem] = [
            RateLimitItemPerSecond(settings.rate_limit_burst),
            RateLimitItemPerMinute(max(settings.rate_limit_per_minute, 1)),
        ]
        self._pool: Any = None  # redis.asyncio.ConnectionPool when ARV_REDIS_URL is set
        # What a failing store raises: the request then goes through (see the module doc).
        self._store_errors: tuple[type[Exception], ...] = (StorageError, OSError)
        storage: Storage
        if settings.redis_url:
            # Imported only when used: the Redis client is several MB of every process.
            import redis.asyncio as aioredis
            from redis.exceptions import RedisError

            self._store_errors += (RedisError,)
            self._pool = aioredis.ConnectionPool.from_url(
                settings.redis_url,
                socket_timeout=_REDIS_TIMEOUT_SECONDS,
                socket_connect_timeout=_REDIS_TIMEOUT_SECONDS,
            )
            storage = RedisStorage(
                _storage_scheme(settings.redis_url),
                implementation="redispy",
                key_prefix=f"{settings.redis_key_prefix}:ratelimit",
                wrap_exceptions=True,
                connection_pool=self._pool,
            )
        else:
            storage = MemoryStorage()
        self.backend = "redis" if self._pool else "memory"
        self._limiter = SlidingWindowCounterRateLimiter(storage)
        self._last_warning = -math.inf

    async def check(self, key: str) -> None:
        """Counts one request of ``key``; raises RateLimited when a limit is exceeded."""
        if not self.enabled:
            return
        try:
            for item in self.items:
                if not await self._limiter.hit(item, "tracking", key):
                    stats = await self._limiter.get_window_stats(item, "tracking", key)
                    wait = max(1, math.ceil(stats.reset_time - time.time()))
                    raise RateLimited(
                        f"too many tracking requests from this client "
                        f"(limit {item.amount} per {item.GRANULARITY.name}); retry in {wait} s",
                        retry_after=wait,
                    )
        except self._store_errors as exc:
            self._warn(exc)

    def _warn(self, exc: Exception) -> None:
        now = time.monotonic()
        if now - self._last_warning >= _WARN_EVERY_SECONDS:
            self._last_warning = now
            log.warning("rate limit store unavailable, not limiting: %s", type(exc).__name__)

    async def aclose(self) -> None:
        if self._pool is not None:
            await self._pool.aclose()


async def limit_tracking(request: Request) -> None:
    """Dependency of the tracking routes (added where the router is included)."""
    limiter: TrackingLimiter = request.app.state.tracking_limiter
    await limiter.check(client_key(request))
