"""The client's address: the TCP peer, or what a trusted proxy says the client was.

X-Forwarded-For and Forwarded can be written by anyone, so they are read only when the peer
is a listed proxy, and then from the right: the first address that is not itself a trusted
proxy is the client. Headers from any other peer are ignored.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from ipaddress import IPv4Address, IPv6Address, ip_address

from arv_analytics.config import Network

_FORWARDED_FOR = re.compile(r'for="?\[?([^\]",;]+)\]?(?::\d+)?"?', re.IGNORECASE)


def _parse(value: str) -> IPv4Address | IPv6Address | None:
    value = value.strip().strip('"')
    if value.startswith("[") and "]" in value:
        value = value[1 : value.index("]")]
    elif value.count(":") == 1:  # IPv4 with a port
        value = value.split(":", 1)[0]
    try:
        return ip_address(value)
    except ValueError:
        return None


def _trusted(addr: IPv4Address | IPv6Address, proxies: Sequence[Network]) -> bool:
    return any(addr in net for net in proxies)


def _chain(headers: Mapping[str, str]) -> list[str]:
    forwarded = headers.get("forwarded")
    if forwarded:
        return _FORWARDED_FOR.findall(forwarded)
    xff = headers.get("x-forwarded-for")
    return [part for part in xff.split(",")] if xff else []


def client_ip(
    peer: str | None, headers: Mapping[str, str], proxies: Sequence[Network]
) -> str | None:
    if peer is None:
        return None
    current = _parse(peer)
    if current is None or not proxies or not _trusted(current, proxies):
        return peer if current is not None else None
    for hop in reversed(_chain(headers)):
        addr = _parse(hop)
        if addr is None:
            break  # a garbled hop: trust nothing further left
        current = addr
        if not _trusted(addr, proxies):
            break
    return str(current)
