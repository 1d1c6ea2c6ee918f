"""Applications: applying, moving through the pipeline, the list's filters, and the history."""
from typing import Annotated

from pydantic import Field, field_validator, model_validator

from . import ApplicationStatusName, Body, Id, Out, Query, Text, check_id


class ApplicationCreateRequest(Body):
    job_id: Id
    cover_letter: Text(10000) | None = None

    _id = field_validator("job_id")(check_id)


class TransitionRequest(Body):
    """Move an application. `to_state` is the original API's name for `status`."""

    status: ApplicationStatusName | None = None
    to_state: ApplicationStatusName | None = None
    reason: Text(1000) | None = None
    expected_version: Annotated[int, Field(ge=1)] | None = None

    @model_validator(mode="after")
    def _one_target(self):
        if self.status is None and self.to_state is None:
            raise ValueError("status (or to_state) is required")
        if self.status is not None and self.to_state is not None and self.status != self.to_state:
            raise ValueError("status and to_state disagree")
        return self

    @property
    def target(self) -> str:
        return self.status or self.to_state


class ChangeStatusRequest(TransitionRequest):
    application_id: Id

    _id = field_validator("application_id")(check_id)


class ApplicationListQuery(Query):
    job_id: Id | None = None
    status: ApplicationStatusName | None = None


class ApplicationOut(Out):
    id: str
    job_id: str
    candidate_id: str
    status: ApplicationStatusName
    cover_letter: str | None
    version: int
    created_at: str
    updated_at: str
    allowed_transitions: list[ApplicationStatusName]


class HistoryEntryOut(Out):
    id: str
    application_id: str
    from_status: ApplicationStatusName | None
    to_status: ApplicationStatusName
    actor_id: str
    reason: str | None
    created_at: str


class ApplicationEnvelope(Out):
    application: ApplicationOut


class ApplicationPage(Out):
    items: list[ApplicationOut]
    next_cursor: str | None


class HistoryPage(Out):
    items: list[HistoryEntryOut]
    next_cursor: str | None
