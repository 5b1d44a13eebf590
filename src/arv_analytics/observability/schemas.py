"""Answers of the operations routes."""

from __future__ import annotations

from pydantic import BaseModel, Field


class Health(BaseModel):
    status: str = Field(description="`ok`: the process is up and serving")
    version: str


class Ready(BaseModel):
    status: str = Field(description="`ready`: database reachable, schema current, queue not full")
    version: str
    schema_revision: str = Field(description="The database's migration revision (the newest)")
    write_queue_depth: int | None = Field(description="Writes waiting; null without a buffer")
    write_queue_capacity: int | None = Field(description="ARV_WRITE_QUEUE_MAX; null: no buffer")
