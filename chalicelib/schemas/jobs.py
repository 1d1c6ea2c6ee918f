"""Jobs: what a recruiter publishes and changes, the list's filters, and the job as shown."""

from typing import Annotated

from pydantic import Field, field_validator

from ..domain.models import JobStatus
from . import AbsentOr, Body, Changes, Id, JobStatusName, NextCursor, Out, Query, Text, check_optional_id


class JobCreateRequest(Body):
    title: Annotated[str, Text(200, 1)]
    description: Annotated[str, Text(20000, multiline=True)] | None = None
    location: Annotated[str, Text(200)] | None = None
    department: Annotated[str, Text(200)] | None = None
    employment_type: Annotated[str, Text(50)] | None = None
    status: JobStatusName = JobStatus.OPEN
    template_id: Id | None = Field(
        None, description="a pipeline template to take the stages from (default: one of each kind)"
    )

    _template = field_validator("template_id")(check_optional_id)


class JobUpdateRequest(Changes):
    title: AbsentOr[Annotated[str, Text(200, 1)]] = None
    description: Annotated[str, Text(20000, multiline=True)] | None = None
    location: Annotated[str, Text(200)] | None = None
    department: Annotated[str, Text(200)] | None = None
    employment_type: Annotated[str, Text(50)] | None = None
    status: AbsentOr[JobStatusName] = None


class JobListQuery(Query):
    status: JobStatusName | None = None
    q: Annotated[str, Text(200)] | None = Field(
        None,
        description="words each of which begins a word of the title (NFKC, any case; `pyth eng` finds "
        "'Python Engineer'; no longer any part of the title)",
    )
    location: Annotated[str, Text(200)] | None = Field(
        None, description="the whole location, trimmed, NFKC, in any case"
    )
    department: Annotated[str, Text(200)] | None = Field(
        None, description="the whole department, trimmed, NFKC, in any case"
    )
    mine: bool = False


class JobOut(Out):
    id: str
    owner_id: str
    title: str
    description: str | None
    location: str | None
    department: str | None
    employment_type: str | None
    status: JobStatusName
    version: int
    created_at: str
    updated_at: str


class JobEnvelope(Out):
    job: JobOut


class JobPage(Out):
    items: list[JobOut]
    next_cursor: NextCursor
