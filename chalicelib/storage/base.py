"""The repository and unit-of-work interface every storage backend implements.

Repositories return and accept the domain's dataclasses. Writes of versioned entities are
conditional on the version the domain moved away from (entity.version - 1), so a stale write
raises ConcurrencyError. A unit of work commits the entity changes, their history and their
outbox events atomically, and rolls back whatever was not committed.

A write may also hold only if other items are as it read them (`require`): the commit checks
them in the same transaction, so a write decided on a state that changed meanwhile is refused.
No write stores an actor (a job's owner, an application's candidate, a history entry's actor)
whose account does not exist: it raises UnknownActor.
"""

from abc import ABC, abstractmethod
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from ..domain.errors import DomainError
from ..domain.events import Event
from ..domain.models import Application, HistoryEntry, Job, User


@dataclass(frozen=True)
class JobQuery:
    """Jobs newest first. Backends serve it from the index of owner_id if set, else of status."""

    statuses: tuple[str, ...] | None = None  # None: every status
    owner_id: str | None = None
    location: str | None = None  # case-insensitive, the whole value
    department: str | None = None  # case-insensitive, the whole value
    q: str | None = None  # case-insensitive substring of the title


@dataclass(frozen=True)
class ApplicationQuery:
    """Applications newest first, from the index of job_id, candidate_id or recruiter_id."""

    job_id: str | None = None
    candidate_id: str | None = None
    recruiter_id: str | None = None
    status: str | None = None


@dataclass(frozen=True)
class OutboxRecord:
    """An event as the outbox keeps it, with where its delivery stands."""

    id: str
    type: str
    payload: dict
    status: str  # pending | published | sent | failed
    attempts: int
    last_error: str | None
    created_at: str
    updated_at: str


class UserRepository(ABC):
    @abstractmethod
    def add(self, user: User) -> None:
        """Raise Conflict(code='email_taken') when the email (case-insensitive) has an account."""

    @abstractmethod
    def get(self, user_id: str) -> User | None: ...

    @abstractmethod
    def get_by_email(self, email: str) -> User | None: ...

    @abstractmethod
    def get_many(self, user_ids: Iterable[str]) -> dict[str, User]:
        """The users of these ids that exist, by id, in one round trip (the people a page shows)."""

    @abstractmethod
    def require(self, user_id: str) -> None:
        """Make the commit conditional on the account existing; UnknownActor if it does not."""


class JobRepository(ABC):
    @abstractmethod
    def add(self, job: Job) -> None: ...

    @abstractmethod
    def get(self, job_id: str) -> Job | None:
        """Soft-deleted jobs too: the caller decides who may see them."""

    @abstractmethod
    def get_many(self, job_ids: Iterable[str]) -> dict[str, Job]:
        """The jobs of these ids that exist (soft-deleted too), by id, in one round trip."""

    @abstractmethod
    def save(self, job: Job) -> None: ...

    @abstractmethod
    def require(self, job_id: str, *, statuses: tuple[str, ...] | None = None, failure: DomainError) -> None:
        """Make the commit conditional on the job existing, not deleted and (if given) in one of
        these statuses; raise `failure` if it is not (at commit, or at once inside the write
        transaction on a backend that locks)."""

    @abstractmethod
    def page(self, query: JobQuery, *, limit: int, before: str | None = None) -> list[Job]:
        """Up to `limit` live (not deleted) jobs with id < before, newest first."""


class ApplicationRepository(ABC):
    @abstractmethod
    def add(self, application: Application) -> None:
        """Raise Conflict(code='already_applied') on a second application to the same job."""

    @abstractmethod
    def get(self, application_id: str) -> Application | None: ...

    @abstractmethod
    def save(self, application: Application) -> None: ...

    @abstractmethod
    def page(self, query: ApplicationQuery, *, limit: int, before: str | None = None) -> list[Application]: ...

    @abstractmethod
    def has_applied(self, candidate_id: str, job_id: str) -> bool:
        """Whether the candidate applied to the job (its uniqueness guard exists)."""

    @abstractmethod
    def history(self, application_id: str, *, limit: int | None = None, after: str | None = None) -> list[HistoryEntry]:
        """Status changes oldest first: up to `limit` (None: all) with id > after."""


class OutboxRepository(ABC):
    """The outbox of domain events and the ledger of emails sent for them.

    Events are written by UnitOfWork.commit with status 'pending'. The publisher marks them
    'published' once handed to the broker; the worker marks them 'sent' when every email of
    the event went out, or 'failed' (with last_error) when retries ran out. Like every write,
    `mark` takes effect on commit.

    The delivery ledger makes sending idempotent per (event, recipient): a worker claims a
    delivery before sending, completes it after. A claim is refused when the delivery is
    complete or another worker holds an unexpired lease, so a redelivered task never sends a
    second email; a worker killed mid-send leaves a lease that expires and is claimed again.
    Ledger operations are single conditional writes that take effect at once, outside commit.
    """

    @abstractmethod
    def list(self, *, status: str, limit: int = 100) -> list[OutboxRecord]:
        """Events in that status, oldest first."""

    @abstractmethod
    def get(self, event_id: str) -> OutboxRecord | None: ...

    @abstractmethod
    def mark(self, event_id: str, *, status: str, error: str | None = None, attempted: bool = False) -> None:
        """Set the event's status (and last_error); `attempted` adds one to its attempts."""

    @abstractmethod
    def mark_published(self, event_ids: Sequence[str]) -> None:
        """Move those of these events still 'pending' to 'published', at once (outside commit).

        Conditional, because a fast worker may already have marked an event 'sent'.
        """

    @abstractmethod
    def claim_delivery(self, event_id: str, recipient: str, *, lease_seconds: int) -> bool:
        """Take the right to send this event's email to this recipient; False if not to send."""

    @abstractmethod
    def complete_delivery(self, event_id: str, recipient: str) -> None:
        """Record the email as sent: no claim on it succeeds again."""

    @abstractmethod
    def release_delivery(self, event_id: str, recipient: str) -> None:
        """Give up a claim after a failed send, so a retry can claim it at once."""

    @abstractmethod
    def delivery_state(self, event_id: str, recipient: str) -> str | None:
        """'sent', 'sending' (claimed, lease maybe expired) or None (never claimed or released).

        Tells a refused claim's two cases apart: already sent (skip) or held by another
        worker (retry after the lease).
        """


@dataclass(frozen=True)
class Window:
    """A fixed window of a counter: how many hits, and when (epoch seconds) it ends."""

    count: int
    ends_at: float


class CounterRepository(ABC):
    """Counters in fixed time windows (login throttling when no Redis is configured).

    Single conditional writes that take effect at once, outside commit.
    """

    @abstractmethod
    def hit(self, key: str, *, window_seconds: int) -> Window:
        """Add one to the key's current window (a new window when none is running) and return it."""

    @abstractmethod
    def peek(self, key: str) -> Window:
        """The key's running window; Window(0, 0.0) when none runs."""

    @abstractmethod
    def clear(self, key: str) -> None: ...


@dataclass(frozen=True)
class IdempotencyRecord:
    """The first request under an Idempotency-Key, and once done, its response."""

    key: str
    fingerprint: str  # a hash of the request it belongs to
    state: str  # pending (the first request is running) | done
    status: int | None  # the first response, once done
    body: str | None
    headers: dict


class IdempotencyRepository(ABC):
    """The first response to each Idempotency-Key, so a retried create returns it again.

    Single conditional writes that take effect at once, outside commit. A claim is held under
    a token its taker chose (and no reader ever sees): only that token completes or releases it,
    so a request that outlived its lease cannot touch the claim a retry has taken over.
    """

    @abstractmethod
    def claim(
        self, key: str, fingerprint: str, token: str, *, lease_seconds: int, ttl_seconds: int
    ) -> IdempotencyRecord | None:
        """Take the key under `token` for a new request and return None; or return the record that holds it.

        A pending record whose lease ran out (its request died) is taken over; a record is
        forgotten ttl_seconds after its claim.
        """

    @abstractmethod
    def complete(self, key: str, token: str, *, status: int, body: str, headers: dict) -> bool:
        """Store the response of the claim `token` holds; False (and nothing stored) if it holds none."""

    @abstractmethod
    def release(self, key: str, token: str) -> None:
        """Forget the pending claim `token` holds (its request failed), so a retry runs afresh."""


class UnitOfWork(ABC):
    users: UserRepository
    jobs: JobRepository
    applications: ApplicationRepository
    outbox: OutboxRepository
    counters: CounterRepository
    idempotency: IdempotencyRepository

    def __init__(self) -> None:
        self._seen: list = []

    def __enter__(self) -> "UnitOfWork":
        self._seen = []
        return self

    def __exit__(self, *exc_info) -> None:
        self.rollback()

    def begin_write(self) -> None:  # noqa: B027  (a hook: only a backend with a write lock overrides it)
        """Called before the reads a write is decided on. A backend with a write lock (SQLite)
        takes it now, so concurrent writers queue rather than conflict; the others decide at
        commit, by their conditions."""

    @abstractmethod
    def fresh(self) -> "UnitOfWork":
        """Another unit of work on the same storage, for use on another thread."""

    def track(self, entity) -> None:
        """Repositories call this for every entity they write, so commit finds its events."""
        self._seen.append(entity)

    def commit(self) -> list[Event]:
        """Commit everything written, with the events of the written entities in the outbox.

        Returns the events, for publishing after commit.
        """
        events = [event for entity in self._seen for event in entity.events]
        self._commit(events)
        for entity in self._seen:
            entity.events.clear()
            if hasattr(entity, "new_history"):
                entity.new_history.clear()
        self._seen = []
        return events

    @abstractmethod
    def _commit(self, events: list[Event]) -> None: ...

    @abstractmethod
    def rollback(self) -> None: ...

    @abstractmethod
    def ping(self) -> None:
        """Raise if the storage cannot be reached."""
