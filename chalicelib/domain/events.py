"""Domain events: facts in the past tense, written to the outbox with the change that caused them."""

from dataclasses import dataclass, field, fields

from .ids import as_utc, new_id, utc_now


@dataclass(frozen=True, kw_only=True)
class Event:
    """What happened, once: its id is the outbox record's, and its type is its class's name.

    `deliver_after` (UTC ISO 8601) holds its delivery back until then: a commit before that moment
    keeps it `scheduled` in the outbox, and the relay hands it on once due.
    """

    id: str = field(default_factory=new_id)
    occurred_at: str = field(default_factory=utc_now)
    deliver_after: str | None = None

    def __post_init__(self) -> None:
        if self.deliver_after is not None:  # one format, so that due events are a range of the outbox's index
            object.__setattr__(self, "deliver_after", as_utc(self.deliver_after))

    @property
    def type(self) -> str:
        return type(self).__name__

    def payload(self) -> dict:
        # Every field is a string, a number or None: read as it is, not deep-copied by asdict
        # (a quarter of the time, on every write that records an event).
        return {f.name: getattr(self, f.name) for f in fields(self)}


@dataclass(frozen=True, kw_only=True)
class UserRegistered(Event):
    """An account was created: the user gets a welcome email."""

    user_id: str
    email: str
    name: str
    role: str
    verify_nonce: str | None = None  # the email's verification link derives from it (auth/opaque.py)


@dataclass(frozen=True, kw_only=True)
class PasswordResetRequested(Event):
    """Someone asked for a reset link for an email: its account (if any, and active) gets it."""

    user_id: str | None  # None: no account has that email, and nobody is emailed
    nonce: str  # the link's token derives from it (auth/opaque.py)


@dataclass(frozen=True, kw_only=True)
class ApplicationSubmitted(Event):
    """A candidate applied: the candidate gets a receipt, the recruiter a notice."""

    application_id: str
    job_id: str
    job_title: str
    candidate_id: str
    recruiter_id: str


@dataclass(frozen=True, kw_only=True)
class ApplicationStatusChanged(Event):
    """An application moved (to a stage, or out of the pipeline: rejected, withdrawn, back): the
    candidate gets `email_template` (None: no email) with `message`, and the recruiter hears when
    the candidate withdrew. Internal notes and reasons are not here: no email can carry them."""

    application_id: str
    job_id: str
    job_title: str
    candidate_id: str
    recruiter_id: str
    from_status: str
    to_status: str
    actor_id: str
    from_stage_id: str | None = None
    to_stage_id: str | None = None
    stage_name: str | None = None
    email_template: str | None = None
    message: str | None = None  # the candidate-facing words of a rejection
