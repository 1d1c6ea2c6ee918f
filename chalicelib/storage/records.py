"""What storage hands back besides the domain's entities, and the queries its lists take."""

from typing import NamedTuple

from ..domain.states import OutboxStatus

# NamedTuples where nothing needs a dataclass: a cold start makes one in a tenth of the time.


class JobQuery(NamedTuple):
    """Jobs newest first, from the index of owner_id if set, else of status."""

    statuses: tuple[str, ...] | None = None  # None: every status
    owner_id: str | None = None
    location: str | None = None  # case-insensitive, the whole value
    department: str | None = None  # case-insensitive, the whole value
    q: str | None = None  # case-insensitive substring of the title


class ApplicationQuery(NamedTuple):
    """Applications newest first, from the index of candidate_id, job_id (or several: job_ids) or status."""

    job_id: str | None = None
    job_ids: tuple[str, ...] | None = None
    candidate_id: str | None = None
    status: str | None = None


class UserQuery(NamedTuple):
    """Users newest first, from the index of role and state."""

    role: str | None = None  # None: every role
    active: bool | None = None  # None: active and deactivated
    q: str | None = None  # case-insensitive prefix of the name or the email


class OutboxRecord(NamedTuple):
    """An event as the outbox keeps it, with where its delivery stands."""

    id: str
    type: str
    payload: dict
    status: str  # an OutboxStatus
    attempts: int
    last_error: str | None
    created_at: str
    updated_at: str
    deliver_after: str | None = None  # not to be delivered before (the event's); items stored before it have none
    retry_at: str | None = None  # while retrying: the next attempt, not before (the outbox's)

    @property
    def due_at(self) -> str | None:
        """When a waiting event may be handed on: its deliver_after while scheduled, its retry_at while
        retrying; None in the statuses that wait for nothing."""
        if self.status == OutboxStatus.SCHEDULED:
            return self.deliver_after
        return self.retry_at if self.status == OutboxStatus.RETRYING else None


class Window:
    """A fixed window of a counter: how many hits, and when (epoch seconds) it ends."""

    # A plain class, as a NamedTuple's field `count` would hide tuple.count.
    __slots__ = ("count", "ends_at")

    def __init__(self, count: int, ends_at: float):
        self.count, self.ends_at = count, ends_at

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Window) and (self.count, self.ends_at) == (other.count, other.ends_at)

    def __repr__(self) -> str:
        return f"Window(count={self.count!r}, ends_at={self.ends_at!r})"


class IdempotencyRecord(NamedTuple):
    """The first request under an Idempotency-Key, and once done, its response."""

    key: str
    fingerprint: str  # a hash of the request it belongs to
    state: str  # an IdempotencyState
    status: int | None  # the first response, once done
    body: str | None
    headers: dict
