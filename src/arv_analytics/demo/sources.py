"""Where demo views come from: mostly a bare QR scan, then printed placements, social posts,
newsletters and a few referring sites, in the shapes a studio's campaign would produce."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from arv_analytics.demo.shapes import pick

# (weight, utm_source, utm_medium, utm_campaign, placement, referrer_host)
Channel = tuple[float, str | None, str | None, str | None, str | None, str | None]
CHANNELS: Sequence[Channel] = (
    # A QR code printed without any parameter, or a link typed or pasted: nothing to say.
    (52, None, None, None, None, None),
    # QR codes that name their printed placement (`?src=…`), some also tagged as print.
    (9, None, None, None, "metro-12", None),
    (5, None, None, None, "metro-7", None),
    (6, "print", "offline", "spring-2026", "magazine-p4", None),
    (3, "print", "offline", "spring-2026", "magazine-p18", None),
    (4, None, None, None, "bus-stop-44", None),
    (2, None, None, None, "flyer-museum", None),
    (1.5, "print", "offline", "museum-night", "poster-lobby", None),
    # Social posts and stories linking to the viewer.
    (6, "instagram", "social", "spring-2026", None, "instagram.com"),
    (2, "instagram", "social", "museum-night", None, "l.instagram.com"),
    (2.5, "facebook", "social", "spring-2026", None, "l.facebook.com"),
    (1, "tiktok", "social", "spring-2026", None, "tiktok.com"),
    # Newsletters (mail apps send no referrer) and referring sites without tags.
    (3, "newsletter", "email", "march-issue", None, None),
    (1, "newsletter", "email", "museum-night", None, None),
    (1.5, None, None, None, None, "google.com"),
    (0.5, None, None, None, None, "t.co"),
)
SOURCE_COLUMNS = ("utm_source", "utm_medium", "utm_campaign", "placement", "referrer_host")


def draw_sources(rng: np.random.Generator, n: int) -> dict[str, list[object]]:
    """The five source columns of ``n`` views."""
    channel = pick(rng, [c[0] for c in CHANNELS], n).tolist()
    return {
        column: [CHANNELS[i][k] for i in channel]
        for k, column in enumerate(SOURCE_COLUMNS, start=1)
    }
