"""Applications: applying, moving through the pipeline, the list's filters, and the history."""

from datetime import UTC
from typing import Annotated

from pydantic import AwareDatetime, BeforeValidator, Field, field_validator, model_validator

from . import FROM_VALUE, ApplicationStatusName, Body, Id, JobStatusName, NextCursor, Out, Query, Text, check_id
from .pipelines import StageKindName

Note = Annotated[str, Text(5000, multiline=True)]


def _text_only(value):
    if not isinstance(value, str):  # a number would be read as epoch seconds
        raise ValueError("must be a time in ISO 8601 with a zone, e.g. 2030-01-31T09:00:00Z")
    return value


# An instant as ISO 8601 text with Z or an offset (strict bodies take no str -> datetime otherwise).
Instant = Annotated[AwareDatetime, FROM_VALUE, BeforeValidator(_text_only)]


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


class MoveRequest(Body):
    """Move to any stage of the job, from the stage the mover saw it in (else 409 stage_mismatch)."""

    from_stage_id: Id
    to_stage_id: Id
    note: Note | None = Field(None, description="internal: the team sees it, the candidate never")

    _ids = field_validator("from_stage_id", "to_stage_id")(check_id)


class RejectionEmailIn(Body):
    send: bool = True
    send_at: Instant | None = Field(
        None, description="when the email goes (default: now); unreject before then cancels it"
    )
    message: Annotated[str, Text(5000, multiline=True)] | None = Field(
        None, description="words to the candidate, in the email"
    )

    @property
    def send_at_utc(self) -> str | None:
        if self.send_at is None:
            return None
        return self.send_at.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class RejectRequest(Body):
    rejection_reason_id: Id
    note: Note | None = Field(None, description="internal: the team sees it, the candidate never")
    email: RejectionEmailIn = Field(default_factory=lambda: RejectionEmailIn(send_at=None, message=None))

    _id = field_validator("rejection_reason_id")(check_id)


class UnrejectRequest(Body):
    note: Note | None = None


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


class ApplicationStageOut(Out):
    id: str
    name: str
    kind: StageKindName


class ApplicationSummaryOut(Out):
    """An application in a list: all but its cover letter (GET /applications/{id} has it)."""

    id: str
    job_id: str
    candidate_id: str
    status: ApplicationStatusName
    stage: ApplicationStageOut | None = Field(description="the stage it is in (or was rejected or withdrew in)")
    rejection_reason_id: str | None = Field(description="the team's only; null for the candidate")
    version: int
    created_at: str
    updated_at: str
    allowed_transitions: list[ApplicationStatusName] = Field(
        description="the statuses this caller may move the application to next"
    )
    candidate: PersonOut | None
    job: JobSummaryOut | None


class ApplicationOut(ApplicationSummaryOut):
    cover_letter: str | None


class HistoryEntryOut(Out):
    id: str
    application_id: str
    from_status: ApplicationStatusName | None
    to_status: ApplicationStatusName
    actor_id: str
    actor: ActorOut | None
    reason: str | None = Field(description="internal: null for the candidate")
    note: str | None = Field(description="internal: null for the candidate")
    from_stage_id: str | None
    to_stage_id: str | None
    rejection_reason_id: str | None = Field(description="internal: null for the candidate")
    created_at: str


class ApplicationEnvelope(Out):
    application: ApplicationOut


class ApplicationPage(Out):
    items: list[ApplicationSummaryOut]
    next_cursor: NextCursor


class HistoryPage(Out):
    items: list[HistoryEntryOut]
    next_cursor: str | None


class VisitOut(Out):
    stage_id: str
    name: str
    kind: StageKindName
    entered_at: str
    exited_at: str | None
    seconds: int = Field(description="its length so far, to now while it lasts")
    moved_by: str


class VisitList(Out):
    items: list[VisitOut]
    next_cursor: None = None
