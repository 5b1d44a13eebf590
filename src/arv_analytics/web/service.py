"""Which content the viewer may show: the same rule as tracking (everything active)."""

from __future__ import annotations

import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from arv_analytics.errors import NotFound
from arv_analytics.web import repository
from arv_analytics.web.repository import ViewerContent


class NotReady(NotFound):
    """Active content that lacks its marker or video: nothing to show yet."""

    code = "not_ready"


async def viewer_content(session: AsyncSession, unique_id: str) -> ViewerContent:
    try:
        uid = uuid.UUID(unique_id)
    except ValueError:
        # A mistyped QR link is as unknown as a deleted one; no 422 for a page URL.
        raise NotFound("no AR content has this id") from None
    content = await repository.find_by_unique_id(session, uid)
    # Inactive content looks exactly like unknown content: the page must not reveal it exists.
    if content is None or not content.active:
        raise NotFound("no AR content has this id")
    if not content.marker_url or not content.video_url:
        raise NotReady("this AR content has no marker or no video yet")
    return content
