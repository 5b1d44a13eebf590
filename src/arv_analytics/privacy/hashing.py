"""What is stored of an IP address, and the daily visitor hash."""

from __future__ import annotations

import hashlib
import hmac
from ipaddress import IPv4Address, ip_address, ip_network
from typing import Literal

IPMode = Literal["hash", "truncate", "full", "none"]


def stored_ip(ip: str | None, mode: IPMode, salt: bytes) -> str | None:
    """The ``ip_address`` column's value under the configured mode."""
    if ip is None or mode == "none":
        return None
    if mode == "full":
        return ip
    if mode == "hash":
        # HMAC-SHA256, 64 hex characters: exactly the seed column's width.
        return hmac.new(salt, b"ip\0" + ip.encode(), hashlib.sha256).hexdigest()
    addr = ip_address(ip)
    prefix = 24 if isinstance(addr, IPv4Address) else 48
    return str(ip_network(f"{addr}/{prefix}", strict=False).network_address)


def visitor_hash(salt: bytes, ip: str | None, user_agent: str | None, company_id: int) -> int:
    """A signed 64-bit visitor key for one UTC day (the salt's day) and one company.

    The company is part of the key so that one company's visitors cannot be matched with
    another's. 64 bits keep the column and its distinct counts small; a collision among a
    company's visitors of one day is a ~1 in 10^10 event at a million visitors.
    """
    message = f"visitor\0{ip or ''}\0{user_agent or ''}\0{company_id}".encode()
    digest = hmac.new(salt, message, hashlib.sha256).digest()
    return int.from_bytes(digest[:8], "big", signed=True)
