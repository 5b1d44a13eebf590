"""Which sessions are bots: known crawlers, automation, and the operator's deny lists."""

from __future__ import annotations

import re
from collections.abc import Sequence
from ipaddress import ip_address

from arv_analytics.config import Network

# ua-parser flags most crawlers as "Spider"; these cover what it does not: headless and
# automated browsers, HTTP libraries, link-preview fetchers and the newer AI crawlers.
BUILTIN_PATTERNS = (
    r"bot\b|bot/|crawl|spider|slurp|scrap",
    r"headless|phantomjs|selenium|webdriver|puppeteer|playwright|cypress|lighthouse|pagespeed",
    r"^curl/|^wget/|python-requests|python-urllib|python-httpx|aiohttp|go-http-client|okhttp",
    r"^java/|libwww-perl|node-fetch|axios/|undici|postmanruntime|insomnia",
    r"facebookexternalhit|bingpreview|embedly|quora link preview|skypeuripreview",
    r"gptbot|ccbot|claudebot|anthropic-ai|bytespider|amazonbot|perplexitybot|petalbot",
)


class BotRules:
    def __init__(self, extra_patterns: Sequence[str], networks: Sequence[Network]) -> None:
        self._pattern = re.compile("|".join((*BUILTIN_PATTERNS, *extra_patterns)), re.IGNORECASE)
        self._networks = tuple(networks)

    def matches_user_agent(self, user_agent: str) -> bool:
        return self._pattern.search(user_agent) is not None

    def matches_ip(self, ip: str | None) -> bool:
        if ip is None or not self._networks:
            return False
        try:
            addr = ip_address(ip)
        except ValueError:
            return False
        return any(addr in net for net in self._networks)
