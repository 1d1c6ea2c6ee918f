"""Applications: applying, moving through the pipeline, the list's filters, and the history."""

from typing import Annotated

from pydantic import Field, field_validator, model_validator

from . import ApplicationStatusName, Body, Id, JobStatusName, Out, Query, Text, check_id


class ApplicationCreateRequest(Body):
    job_id: Id
    cover_letter: Annotated[str, Text(10000, multiline=True)] | None = None

    _id = field_validator("job_id")(check_id)


class TransitionRequest(Body):
    """Move an application. `to_state` is the original API's name for `status`."""

    status: ApplicationStatusName | None = None
    to_state: ApplicationStatusName | None = None
    reason: Annotated[str, Text(1000, multiline=True)] | None = None
    expected_version: Annotated[int, Field(ge=1)] | None = None

    @model_validator(mode="after")
    def _one_target(self):
        if self.status is None and self.to_state is None:
            raise ValueError("status (or to_state) is required")
        if self.status is not None and self.to_state is not None and self.status != self.to_state:
            raise ValueError("status and to_state disagree")
        return self

    @property
    def target(self) -> ApplicationStatusName:
        target = self.status or self.to_state
        assert target is not None  # _one_target refused a body with neither
        return target


class ChangeStatusRequest(TransitionRequest):
    application_id: Id

    _id = field_validator("application_id")(check_id)


class JobApplicationListQuery(Query):
    """The query of /jobs/{job_id}/applications: the job is in the path, not here."""

    status: ApplicationStatusName | None = None


class ApplicationListQuery(JobApplicationListQuery):
    job_id: Id | None = None


class PersonOut(Out):
    """The candidate of an application, as its readers see them."""

    id: str
    name: str
    email: str


class ActorOut(Out):
    """Who made a change."""

    id: str
    name: str
    role: str


class JobSummaryOut(Out):
    """The job an application is to; still shown after the job closed or was deleted."""

    id: str
    title: str
    status: JobStatusName
    deleted_at: str | None


class HistoryQuery(Query):
    """A history is paged like every list, oldest first."""


class ApplicationOut(Out):
    id: str
    job_id: str
    candidate_id: str
    status: ApplicationStatusName
    cover_letter: str | None
    version: int
    created_at: str
    updated_at: str
    allowed_transitions: list[ApplicationStatusName] = Field(
        description="the statuses this caller may move the application to next"
    )
    candidate: PersonOut | None
    job: JobSummaryOut | None


class HistoryEntryOut(Out):
    id: str
    application_id: str
    from_status: ApplicationStatusName | None
    to_status: ApplicationStatusName
    actor_id: str
    actor: ActorOut | None
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
