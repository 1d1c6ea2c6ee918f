"""The outbox, as admins see it."""

from typing import Annotated

from pydantic import Field

from ..domain.states import OutboxStatus
from . import FROM_VALUE, MAX_LIMIT, Out, QueryString

OutboxStatusName = Annotated[OutboxStatus, FROM_VALUE]


class OutboxQuery(QueryString):
    status: OutboxStatusName = OutboxStatus.FAILED
    limit: Annotated[int, Field(ge=1, le=MAX_LIMIT)] = MAX_LIMIT


class OutboxEventOut(Out):
    id: str
    type: str
    payload: dict
    status: OutboxStatusName
    attempts: int
    last_error: str | None
    retry_at: str | None  # retrying: when the next attempt is due
    created_at: str
    updated_at: str


class OutboxPage(Out):
    items: list[OutboxEventOut]
    next_cursor: str | None
