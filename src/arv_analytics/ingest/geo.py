"""IP → country (bundled geoip2fast data, IPv4 and IPv6) and city (optional MaxMind database)."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import maxminddb
from geoip2fast import GeoIP2Fast

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Place:
    country: str | None
    city: str | None


NOWHERE = Place(None, None)


class GeoLocator:
    def __init__(self, city_db: Path | None = None) -> None:
        # The IPv6 file holds the IPv4 ranges too; loading takes ~0.1 s, done once per process.
        self._countries = GeoIP2Fast(geoip2fast_data_file="geoip2fast-ipv6.dat.gz", verbose=False)
        self._cities: Any = maxminddb.open_database(str(city_db)) if city_db else None

    def locate(self, ip: str | None) -> Place:
        if not ip:
            return NOWHERE
        result = self._countries.lookup(ip)
        code = result.country_code or ""
        # Private and reserved ranges come back as "--"; only real ISO codes are kept.
        country = code if len(code) == 2 and code.isalpha() else None
        city = None
        if self._cities is not None:
            try:
                record = self._cities.get(ip)
            except ValueError:
                record = None
            if isinstance(record, dict):
                city = _english_name(record.get("city"))
                country = country or _iso_code(record.get("country"))
        return Place(country, city[:100] if city else None)

    def close(self) -> None:
        if self._cities is not None:
            self._cities.close()


def _english_name(node: Any) -> str | None:
    if isinstance(node, dict):
        names = node.get("names")
        if isinstance(names, dict):
            name = names.get("en") or next(iter(names.values()), None)
            return str(name) if name else None
    return None


def _iso_code(node: Any) -> str | None:
    if isinstance(node, dict) and isinstance(node.get("iso_code"), str):
        return str(node["iso_code"])
    return None
