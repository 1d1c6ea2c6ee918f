"""The outbox, as admins see it."""

from typing import Annotated, Literal

from pydantic import Field

from . import Out, QueryString

OutboxStatus = Literal["pending", "published", "sent", "failed"]


class OutboxQuery(QueryString):
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
