"""Jobs: what a recruiter publishes and changes, the list's filters, and the job as shown."""
from pydantic import field_validator

from . import Body, JobStatusName, Out, Query, Text


class JobCreateRequest(Body):
    title: Text(200, 1)
    description: Text(20000, multiline=True) | None = None
    location: Text(200) | None = None
    department: Text(200) | None = None
    employment_type: Text(50) | None = None
    status: JobStatusName = "open"


class JobUpdateRequest(Body):
    title: Text(200, 1) = None
    description: Text(20000, multiline=True) | None = None
    location: Text(200) | None = None
    department: Text(200) | None = None
    employment_type: Text(50) | None = None
    status: JobStatusName = None

    @field_validator("title", "status", mode="before")
    @classmethod
    def _not_null(cls, value):
        if value is None:
            raise ValueError("may not be null")
        return value

    def changes(self) -> dict:
        """Only the fields the client sent."""
        return {name: getattr(self, name) for name in self.model_fields_set}


class JobListQuery(Query):
    status: JobStatusName | None = None
    q: Text(200) | None = None
    location: Text(200) | None = None
    department: Text(200) | None = None
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
    next_cursor: str | None
