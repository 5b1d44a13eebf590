"""Server-side enrichment of a start: device, browser, OS, bot flag, place, IP, visitor.

Everything here is derived from the request by the server; the values a client sends are only
a fallback for a request that carries no User-Agent at all.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from arv_analytics.config import Settings
from arv_analytics.ingest.bots import BotRules
from arv_analytics.ingest.client_ip import client_ip
from arv_analytics.ingest.geo import GeoLocator
from arv_analytics.ingest.schemas import MAX_USER_AGENT, StartEvent
from arv_analytics.ingest.useragent import classify
from arv_analytics.privacy.hashing import stored_ip, visitor_hash
from arv_analytics.privacy.salts import SaltKeeper


@dataclass(frozen=True, slots=True)
class Enrichment:
    user_agent: str | None
    device_type: str | None
    browser: str | None
    os: str | None
    is_bot: bool
    ip_address: str | None
    country: str | None
    city: str | None
    visitor_hash: int

    def columns(self) -> dict[str, object]:
        return {
            "user_agent": self.user_agent,
            "device_type": self.device_type,
            "browser": self.browser,
            "os": self.os,
            "is_bot": self.is_bot,
            "ip_address": self.ip_address,
            "country": self.country,
            "city": self.city,
            "visitor_hash": self.visitor_hash,
        }


@dataclass(frozen=True, slots=True)
class DeviceInfo:
    device_type: str | None
    browser: str | None
    os: str | None
    is_bot: bool


def describe_device(
    user_agent: str | None, client_sent: StartEvent | None, bots: BotRules
) -> DeviceInfo:
    """Device, browser, OS and bot flag from the user agent; client values only without one."""
    if not user_agent:
        # Every browser sends a user agent; a request without any is a script.
        browser = client_sent.browser if client_sent else None
        os_name = client_sent.os if client_sent else None
        return DeviceInfo("bot", browser, os_name, True)
    info = classify(user_agent)
    is_bot = info.is_spider or bots.matches_user_agent(user_agent)
    return DeviceInfo("bot" if is_bot else info.device_type, info.browser, info.os, is_bot)


class Enricher:
    def __init__(self, settings: Settings, salts: SaltKeeper, geo: GeoLocator) -> None:
        self._settings = settings
        self._salts = salts
        self._geo = geo
        self._bots = BotRules(settings.bot_user_agents, settings.bot_networks)

    def client_ip(self, peer: str | None, headers: Mapping[str, str]) -> str | None:
        return client_ip(peer, headers, self._settings.trusted_proxies)

    async def enrich(
        self, event: StartEvent, *, ip: str | None, header_user_agent: str | None, company_id: int
    ) -> Enrichment:
        user_agent = (header_user_agent or event.user_agent or "")[:MAX_USER_AGENT] or None
        device = describe_device(user_agent, event, self._bots)
        is_bot = device.is_bot or self._bots.matches_ip(ip)
        place = self._geo.locate(ip)
        salt = await self._salts.today()
        return Enrichment(
            user_agent=user_agent,
            device_type="bot" if is_bot else device.device_type,
            browser=(device.browser or "")[:100] or None,
            os=(device.os or "")[:100] or None,
            is_bot=is_bot,
            ip_address=stored_ip(ip, self._settings.ip_mode, salt),
            country=place.country,
            city=place.city,
            visitor_hash=visitor_hash(salt, ip, user_agent, company_id),
        )
