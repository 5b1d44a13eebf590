"""User agent → device type, browser, OS, with ua-parser (its Rust resolver when installed)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from ua_parser import parse

DESKTOP_OS = frozenset(
    {
        "Windows",
        "Mac OS X",
        "Linux",
        "Ubuntu",
        "Fedora",
        "Debian",
        "Chrome OS",
        "FreeBSD",
        "OpenBSD",
        "NetBSD",
        "Solaris",
    }
)
_MOBILE_HINT = re.compile(r"Mobi|iPhone|iPod|Windows Phone|IEMobile|Opera Mini", re.IGNORECASE)
_TABLET_DEVICE = re.compile(r"iPad|Kindle|Tablet|Nexus (7|9|10)\b|SM-[TPX]\d", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class UserAgentInfo:
    device_type: str  # mobile, tablet, desktop, bot, other
    browser: str | None
    os: str | None
    is_spider: bool


@lru_cache(maxsize=8192)
def classify(user_agent: str) -> UserAgentInfo:
    """Cached: a few hundred distinct strings make up nearly all real traffic."""
    result = parse(user_agent)
    browser = result.user_agent.family if result.user_agent else None
    os_name = result.os.family if result.os else None
    device = result.device
    if device is not None and device.family == "Spider":
        return UserAgentInfo("bot", browser, os_name, True)
    device_text = (
        " ".join(filter(None, (device.family, device.brand, device.model))) if device else ""
    )
    if _TABLET_DEVICE.search(device_text) or (device and device.brand == "Generic_Android_Tablet"):
        kind = "tablet"
    elif os_name == "Android":
        # Android tablets leave "Mobile" out of the user agent; phones put it in.
        kind = "mobile" if _MOBILE_HINT.search(user_agent) else "tablet"
    elif os_name == "iOS" or _MOBILE_HINT.search(user_agent):
        kind = "mobile"
    elif os_name in DESKTOP_OS:
        kind = "desktop"
    else:
        kind = "other"
    return UserAgentInfo(kind, browser, os_name, False)
