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
from arv_analytics.ingest.rules import DeviceInfo, cut, describe
from arv_analytics.ingest.schemas import StartEvent
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


def describe_device(
    user_agent: str | None, client_sent: StartEvent | None, bots: BotRules
) -> DeviceInfo:
    """Device, browser, OS and bot flag from the user agent (the shared rule in rules.py)."""
    return describe(
        user_agent,
        ip=None,
        client_browser=client_sent.browser if client_sent else None,
        client_os=client_sent.os if client_sent else None,
        bots=bots,
    )


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
        user_agent = cut(header_user_agent or event.user_agent, "user_agent")
        device = describe(
            user_agent, ip=ip, client_browser=event.browser, client_os=event.os, bots=self._bots
        )
        place = self._geo.locate(ip)
        salt = await self._salts.today()
        return Enrichment(
            user_agent=user_agent,
            device_type=device.device_type,
            browser=device.browser,
            os=device.os,
            is_bot=device.is_bot,
            ip_address=stored_ip(ip, self._settings.ip_mode, salt),
            country=place.country,
            city=place.city,
            visitor_hash=visitor_hash(salt, ip, user_agent, company_id),
        )
