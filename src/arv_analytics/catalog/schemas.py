"""Request and response bodies of the catalog: companies, projects, AR content."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Generic, Literal, TypeVar

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StrictBool,
    StringConstraints,
)

from arv_analytics.params import STRIP_SPACE, VISIBLE, IdValue

SLUG_PATTERN = r"^[a-z0-9]+(?:-[a-z0-9]+)*$"

Name = Annotated[str, StringConstraints(min_length=1, max_length=255, pattern=VISIBLE), STRIP_SPACE]
Slug = Annotated[str, StringConstraints(max_length=100, pattern=SLUG_PATTERN)]


# Media may live on any host (a CDN) or beside the viewer (a path). A pattern rather than a
# validator, so that the OpenAPI document states the rule too.
MediaURL = Annotated[
    str,
    StringConstraints(
        max_length=2048, pattern=r"^(https?://[^\x00-\x20\x7f]+|/[^\x00-\x20\x7f]*)$"
    ),
]


class _Input(BaseModel):
    model_config = ConfigDict(extra="forbid")


class CompanyCreate(_Input):
    name: Name
    slug: Slug | None = None


class CompanyUpdate(_Input):
    name: Name | None = None
    slug: Slug | None = None
    is_active: StrictBool | None = None


class ProjectCreate(_Input):
    company_id: IdValue
    name: Name
    slug: Slug | None = None


class ProjectUpdate(_Input):
    name: Name | None = None
    slug: Slug | None = None
    is_active: StrictBool | None = None


class ContentCreate(_Input):
    project_id: IdValue
    title: Name
    video_url: MediaURL | None = None
    marker_url: MediaURL | None = None
    unique_id: uuid.UUID | None = Field(
        default=None,
        description="Keep an existing public id (QR codes already printed, an import from the "
        "original platform); generated when absent",
    )


class ContentUpdate(_Input):
    title: Name | None = None
    video_url: MediaURL | None = None
    marker_url: MediaURL | None = None
    is_active: StrictBool | None = None


class _Output(BaseModel):
    model_config = ConfigDict(from_attributes=True)


class CompanyOut(_Output):
    id: int
    name: str
    slug: str
    is_active: bool
    created_at: datetime
    updated_at: datetime


class ProjectOut(_Output):
    id: int
    company_id: int
    name: str
    slug: str
    is_active: bool
    created_at: datetime
    updated_at: datetime


class ContentOut(_Output):
    id: int
    unique_id: uuid.UUID
    project_id: int
    company_id: int
    title: str
    video_url: str | None
    marker_url: str | None
    is_active: bool
    created_at: datetime
    updated_at: datetime


T = TypeVar("T")


class Page(BaseModel, Generic[T]):
    items: list[T]
    total: int
    limit: int
    offset: int
    total_exact: bool = Field(
        default=True, description="false when more rows matched than were counted (total)"
    )


# --- bulk: many companies, projects and contents in one request or file ------------------

BULK_MAX_ROWS = 1_000


class BulkRow(_Input):
    """One content with its project and company, each created when missing and updated when
    a given field differs. Fields left out (or, in a CSV, left empty) are not changed; an
    explicit null clears a media URL."""

    company_slug: Slug | None = Field(default=None, description="Matches an existing company")
    company_name: Name | None = Field(default=None, description="Needed to create one")
    company_active: StrictBool | None = None
    project_slug: Slug | None = Field(
        default=None, description="Matches an existing project of the company"
    )
    project_name: Name | None = Field(default=None, description="Needed to create one")
    project_active: StrictBool | None = None
    unique_id: uuid.UUID | None = Field(
        default=None,
        description="Matches an existing content; without it, the project's content with the "
        "same title is matched",
    )
    title: Name
    video_url: MediaURL | None = None
    marker_url: MediaURL | None = None
    is_active: StrictBool | None = None

    def missing_owner(self) -> str | None:
        """Why the row names no company or project (it is then rejected), or None."""
        if self.company_slug is None and self.company_name is None:
            return "company_slug or company_name is required"
        if self.project_slug is None and self.project_name is None:
            return "project_slug or project_name is required"
        return None


class BulkRequest(_Input):
    rows: list[BulkRow] = Field(min_length=1, max_length=BULK_MAX_ROWS)


RowStatus = Literal["created", "updated", "unchanged", "rejected"]


class BulkRowResult(BaseModel):
    row: int = Field(description="1-based position in the request (or line in the file)")
    status: RowStatus
    reason: str | None = None
    content_id: int | None = None
    unique_id: uuid.UUID | None = None


class BulkReport(BaseModel):
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: int = 0
    companies_created: int = 0
    projects_created: int = 0
    rows: list[BulkRowResult] = Field(default_factory=list)

    def add(self, result: BulkRowResult) -> None:
        self.rows.append(result)
        setattr(self, result.status, getattr(self, result.status) + 1)
