"""Share link bodies. The link's URL appears in exactly one answer: the one that created it."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, StringConstraints

from arv_analytics.params import STORABLE_PATTERN, STRIP_SPACE, VISIBLE, IdValue

LinkName = Annotated[
    str, StringConstraints(min_length=1, max_length=100, pattern=VISIBLE), STRIP_SPACE
]
Password = Annotated[str, StringConstraints(min_length=8, max_length=200, pattern=STORABLE_PATTERN)]


class ShareLinkCreate(BaseModel):
    """A read-only link to one company's dashboard, or (with project_id) one project's."""

    model_config = ConfigDict(extra="forbid")

    name: LinkName = Field(description="What the link is for, shown in the list")
    company_id: IdValue | None = Field(
        default=None, description="The company; may be left out when project_id is given"
    )
    project_id: IdValue | None = Field(
        default=None, description="Only this project (of company_id, when both are given)"
    )
    password: Password | None = Field(
        default=None, description="Asked before the dashboard opens; stored as a scrypt hash"
    )
    expires_at: AwareDatetime | None = Field(
        default=None, description="The link answers 404 from this instant on (future, with zone)"
    )


class ShareLinkOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str
    company_id: int
    project_id: int | None
    has_password: bool
    expires_at: datetime | None
    created_at: datetime
    created_by: str | None
    revoked_at: datetime | None


class ShareLinkCreated(ShareLinkOut):
    url: str = Field(description="The link's path (/share/…). Shown only in this answer")
