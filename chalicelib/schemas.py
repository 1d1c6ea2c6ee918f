"""Request and response models of the HTTP API: the views validate with them, and render with them.

Bodies are validated strictly (a number is not a string, "5" is not a number). Fields a client
may not set (id, role on updates, version, owner, status on applications...) are not declared,
so sending them changes nothing.
"""
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints, field_validator, model_validator

from .auth.policy import MAX_LENGTH, MIN_LENGTH, is_common
from .domain.ids import is_id

def Text(max_length: int, min_length: int = 0):
    """A stripped string with bounded length: every string the API takes has a bound."""
    return Annotated[str, StringConstraints(strip_whitespace=True, min_length=min_length, max_length=max_length)]

# The HTML living standard's valid e-mail address: ASCII, so every mail server takes it as it is.
EMAIL_PATTERN = (r"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
                 r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)+$")
Email = Annotated[str, StringConstraints(strip_whitespace=True, min_length=3, max_length=254, pattern=EMAIL_PATTERN)]


def _not_common(password: str) -> str:
    if is_common(password):
        raise ValueError("this password is too common; choose another")
    return password


Password = Annotated[str, StringConstraints(min_length=MIN_LENGTH, max_length=MAX_LENGTH),
                     AfterValidator(_not_common)]
Id = Annotated[str, StringConstraints(min_length=26, max_length=26)]
JobStatusName = Literal["draft", "open", "closed"]
ApplicationStatusName = Literal["applied", "screening", "shortlisted", "selected", "hired", "rejected", "withdrawn"]


class Body(BaseModel):
    model_config = ConfigDict(strict=True, extra="ignore", frozen=True, defer_build=True)


class RegisterRequest(Body):
    email: Email
    password: Password
    name: Text(200, 1) | None = None
    role: Literal["candidate", "recruiter"] = "candidate"


class LoginRequest(Body):
    email: Text(254, 1)
    # Not stripped: registration keeps spaces that are part of a password, so login must too.
    password: Annotated[str, StringConstraints(min_length=1, max_length=1024)]


class JobCreateRequest(Body):
    title: Text(200, 1)
    description: Text(20000) | None = None
    location: Text(200) | None = None
    department: Text(200) | None = None
    employment_type: Text(50) | None = None
    status: JobStatusName = "open"


class JobUpdateRequest(Body):
    title: Text(200, 1) = None
    description: Text(20000) | None = None
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


def _check_id(value: str) -> str:
    if not is_id(value):
        raise ValueError("not a valid id")
    return value


class ApplicationCreateRequest(Body):
    job_id: Id
    cover_letter: Text(10000) | None = None

    _id = field_validator("job_id")(_check_id)


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

    _id = field_validator("application_id")(_check_id)


# Query strings are text: these models convert ("20" is a limit of 20).
class Query(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True, defer_build=True)
    limit: Annotated[int, Field(ge=1, le=100)] = 20
    cursor: Text(200) | None = None


class JobListQuery(Query):
    status: JobStatusName | None = None
    q: Text(200) | None = None
    location: Text(200) | None = None
    department: Text(200) | None = None
    mine: bool = False


class ApplicationListQuery(Query):
    job_id: Id | None = None
    status: ApplicationStatusName | None = None


# Responses.
class Out(BaseModel):
    model_config = ConfigDict(from_attributes=True, defer_build=True)


class UserOut(Out):
    id: str
    email: str
    name: str
    role: Literal["candidate", "recruiter", "admin"]
    created_at: str


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


class LoginOut(Out):
    access_token: str
    token_type: Literal["Bearer"]
    expires_in: int
    user: UserOut


class PingOut(Out):
    status: Literal["ok"]
    message: str


class HealthOut(Out):
    status: Literal["ok", "unavailable"]
    checks: dict[str, str]


class OutboxQuery(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True, defer_build=True)
    status: Literal["pending", "published", "sent", "failed"] = "failed"
    limit: Annotated[int, Field(ge=1, le=100)] = 100


class OutboxEventOut(Out):
    id: str
    type: str
    payload: dict
    status: Literal["pending", "published", "sent", "failed"]
    attempts: int
    last_error: str | None
    created_at: str
    updated_at: str


# Envelopes: every response wraps its resource, and every error has one shape.
class UserEnvelope(Out):
    user: UserOut


class JobEnvelope(Out):
    job: JobOut


class ApplicationEnvelope(Out):
    application: ApplicationOut


class JobPage(Out):
    items: list[JobOut]
    next_cursor: str | None


class ApplicationPage(Out):
    items: list[ApplicationOut]
    next_cursor: str | None


class OutboxPage(Out):
    items: list[OutboxEventOut]
    next_cursor: str | None


class HistoryPage(Out):
    items: list[HistoryEntryOut]
    next_cursor: str | None


class ErrorDetail(BaseModel):
    model_config = ConfigDict(extra="allow", defer_build=True)
    field: str | None = None
    message: str


# Only the OpenAPI document uses these (errors are rendered in ats_functions/http.py): built there.
class ErrorInfo(BaseModel):
    model_config = ConfigDict(defer_build=True)
    code: str
    message: str
    details: list[ErrorDetail]


class ErrorBody(BaseModel):
    model_config = ConfigDict(defer_build=True)
    error: ErrorInfo
