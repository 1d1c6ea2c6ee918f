"""The outbox, as admins see it."""
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from . import Out

OutboxStatus = Literal["pending", "published", "sent", "failed"]


class OutboxQuery(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True, defer_build=True)
    status: OutboxStatus = "failed"
    limit: Annotated[int, Field(ge=1, le=100)] = 100


class OutboxEventOut(Out):
    id: str
    type: str
    payload: dict
    status: OutboxStatus
    attempts: int
    last_error: str | None
    created_at: str
    updated_at: str


class OutboxPage(Out):
    items: list[OutboxEventOut]
    next_cursor: str | None
