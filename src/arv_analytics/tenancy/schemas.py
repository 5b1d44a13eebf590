"""Token bodies. The clear token appears in exactly one answer: the one that created it."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from arv_analytics.params import STRIP_SPACE, VISIBLE, IdValue

TokenName = Annotated[
    str, StringConstraints(min_length=1, max_length=100, pattern=VISIBLE), STRIP_SPACE
]


class AdminTokenCreate(BaseModel):
    """An admin token: may call everything."""

    model_config = ConfigDict(extra="forbid")

    name: TokenName
    role: Literal["admin"]


class CompanyTokenCreate(BaseModel):
    """A company token: read-only, and only that company's data."""

    model_config = ConfigDict(extra="forbid")

    name: TokenName
    role: Literal["company"]
    company_id: IdValue


# One schema per role, told apart by `role`: the document itself says which needs company_id.
TokenCreate = Annotated[AdminTokenCreate | CompanyTokenCreate, Field(discriminator="role")]


class TokenOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str
    role: str
    company_id: int | None
    created_at: datetime
    last_used_at: datetime | None = Field(description="Updated at most once a minute")
    revoked_at: datetime | None


class TokenCreated(TokenOut):
    token: str = Field(description="The bearer token. Shown only in this answer; store it now")
