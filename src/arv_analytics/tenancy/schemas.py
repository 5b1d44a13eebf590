"""Token bodies. The clear token appears in exactly one answer: the one that created it."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

from arv_analytics.params import MAX_ID


class TokenCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]
    role: Literal["admin", "company"] = Field(
        description="`admin`: everything; `company`: read-only, one company"
    )
    company_id: int | None = Field(
        default=None, ge=1, le=MAX_ID, description="Required for `company`, absent for `admin`"
    )

    @model_validator(mode="after")
    def _company_matches_role(self) -> TokenCreate:
        if self.role == "company" and self.company_id is None:
            raise ValueError("a company token needs company_id")
        if self.role == "admin" and self.company_id is not None:
            raise ValueError("an admin token has no company_id")
        return self


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
