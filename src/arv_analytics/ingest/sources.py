"""Where a view came from, as stored: the start's utm_*, placement and referrer host.

The referrer arrives as a URL (``document.referrer``) or already as a host (what the tracker
sends); either way only the host is kept, so that a referrer's path (a search query, a
private page) never reaches the database.
"""

from __future__ import annotations

from arv_analytics.ingest.schemas import MAX_LABEL, StartEvent


def referrer_host(referrer: str | None) -> str | None:
    """``https://WWW.Instagram.com:443/p/x?y`` → ``instagram.com``; no host → None.

    Total on purpose: every string the schema accepts gives a host or None, never an error,
    so a referrer cannot make a view fail to count.
    """
    if not referrer:
        return None
    rest = referrer
    scheme_end = rest.find("://")
    if scheme_end != -1:
        rest = rest[scheme_end + 3 :]
    elif rest.startswith("//"):
        rest = rest[2:]
    for stop in "/?#":
        rest = rest.split(stop, 1)[0]
    host = rest.rsplit("@", 1)[-1].lower()
    if host.startswith("["):  # an IPv6 literal, with or without a port
        host = host[1:].split("]", 1)[0]
    elif host.count(":") == 1:
        host = host.split(":", 1)[0]
    host = host.rstrip(".")
    if host.startswith("www."):
        host = host[4:]
    return host[:MAX_LABEL] or None


def source_columns(event: StartEvent) -> dict[str, str | None]:
    """The start's source columns; an end never changes them."""
    return {
        "utm_source": event.utm_source,
        "utm_medium": event.utm_medium,
        "utm_campaign": event.utm_campaign,
        "placement": event.placement_label,
        "referrer_host": referrer_host(event.referrer),
    }
